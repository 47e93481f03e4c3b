// The downloadable report: the page's numbers as JSON, and the same as one self-contained HTML page.

export interface AppReport {
  source: string;
  verdict: string;
  verdictWords: string;
  testAccuracy: number;
  transferErrors: number[];
  scratchErrors: number[];
  classNames: string[];
  confusion: number[][];
  split: { counts: number[][]; skipped: string[] };
  settings: object;
  seconds: { transfer: number; scratch: number };
  perClass: object[];
}

export function reportJson(r: AppReport): string {
  return `${JSON.stringify({ generatedBy: 'graft app', ...r }, null, 2)}\n`;
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function reportHtml(r: AppReport): string {
  const row = (cells: Array<string | number>, tag = 'td'): string => `<tr>${cells.map((c) => `<${tag}>${esc(String(c))}</${tag}>`).join('')}</tr>`;
  return `<!doctype html><meta charset="utf-8"><title>graft app report</title>
<style>body{font:14px system-ui,sans-serif;max-width:50em;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.2em .6em;text-align:right}</style>
<h1>Transfer-learning report</h1>
<p>Source: ${esc(r.source)}</p>
<h2>Verdict: ${esc(r.verdict)}</h2><p>${esc(r.verdictWords)}</p>
<p>Test accuracy of the transferred model (seed 0): ${(100 * r.testAccuracy).toFixed(1)}%</p>
<h2>Split</h2><table>${row(['class', 'train', 'validation', 'test'], 'th')}${r.classNames.map((n, k) => row([n, ...(r.split.counts[k] ?? [])])).join('')}</table>
<h2>Confusion matrix (rows: true class)</h2><table>${row(['', ...r.classNames], 'th')}${r.confusion.map((c, k) => row([r.classNames[k] ?? '', ...c])).join('')}</table>
<h2>Test error per seed</h2><table>${row(['seed', 'transfer', 'scratch'], 'th')}${r.transferErrors.map((t, i) => row([i, t.toFixed(4), (r.scratchErrors[i] ?? NaN).toFixed(4)])).join('')}</table>
<p>Training time: transfer ${r.seconds.transfer.toFixed(1)} s, from scratch ${r.seconds.scratch.toFixed(1)} s (all seeds).</p>
<h2>Settings</h2><pre>${esc(JSON.stringify(r.settings, null, 2))}</pre>
`;
}
