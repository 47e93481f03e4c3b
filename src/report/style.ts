/**
 * The report's only stylesheet, inlined so the file opens anywhere with no network. Light, with
 * system fonts; charts scale to the column width; wide tables scroll instead of squashing.
 */
export const REPORT_CSS = `
:root { --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --bg: #ffffff; --panel: #f5f7fa;
  --helps: #0a7d3e; --hurts: #b42318; --unclear: #8a5a00; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 1.7rem; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 1.3rem; margin: 40px 0 12px; padding-top: 12px; border-top: 2px solid var(--line); overflow-wrap: anywhere; }
h3 { font-size: 1.05rem; margin: 24px 0 8px; }
.meta { color: var(--muted); margin: 0 0 16px; }
nav { font-size: 0.9rem; margin-bottom: 8px; }
nav a { color: #0b5cab; margin-right: 14px; }
.verdict { background: var(--panel); border-left: 6px solid var(--muted); border-radius: 6px; padding: 14px 18px; margin: 16px 0; }
.verdict h2 { border: 0; margin: 0 0 8px; padding: 0; }
.verdict ul { margin: 0; padding-left: 1.2em; }
.verdict li { margin: 6px 0; font-size: 1.05rem; }
.verdict .caveat { color: #5c3c00; background: #fff6e0; border-radius: 4px; padding: 8px 12px; margin: 10px 0 0; }
.v-helps { color: var(--helps); font-weight: 700; }
.v-hurts { color: var(--hurts); font-weight: 700; }
.v-unclear { color: var(--unclear); font-weight: 700; }
.badge { display: inline-block; font-size: 0.75rem; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; padding: 2px 8px; border-radius: 10px; background: #e3ecf7; color: #0b4f8a; vertical-align: middle; margin-left: 8px; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0 16px; }
dl.summary dt { color: var(--muted); }
dl.summary dd { margin: 0; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 8px 0 16px; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: var(--muted); font-size: 0.9rem; padding-bottom: 4px; caption-side: top; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; }
thead th { background: var(--panel); font-weight: 600; }
table:not(.confusion) tbody tr:nth-child(even) { background-color: #f7f9fb; }
table.confusion td { text-align: center; min-width: 40px; padding: 5px 6px; border: 1px solid #fff; vertical-align: middle; }
table.confusion thead th { font-size: 0.8rem; text-align: center; padding: 4px; vertical-align: bottom; white-space: nowrap; }
table.confusion tbody th { font-size: 0.85rem; white-space: nowrap; }
table.confusion th.corner { color: var(--muted); font-weight: 400; font-size: 0.8rem; text-align: left; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(340px, 100%), 1fr)); gap: 16px 24px; }
figure { margin: 0; }
figcaption { color: var(--muted); font-size: 0.88rem; margin-top: 4px; }
svg.chart { width: 100%; height: auto; display: block; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
.pair { display: flex; flex-wrap: wrap; gap: 8px 40px; align-items: flex-start; }
.pair > div { max-width: 100%; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(128px, 1fr)); gap: 12px; }
.grid figure { background: var(--panel); border-radius: 6px; padding: 8px; text-align: center; }
.grid img { width: 96px; height: 96px; image-rendering: pixelated; object-fit: contain; background: #000; border-radius: 3px; }
.grid figcaption { color: var(--ink); font-size: 0.82rem; line-height: 1.35; overflow-wrap: anywhere; }
.grid .wrong { color: var(--hurts); font-weight: 600; }
.note { color: var(--muted); font-size: 0.9rem; }
details summary { cursor: pointer; color: #0b5cab; }
footer { color: var(--muted); font-size: 0.85rem; margin-top: 40px; border-top: 1px solid var(--line); padding-top: 10px; }
@media print { nav { display: none; } h2 { break-before: auto; } .charts, .pair { break-inside: avoid; } }
`;
