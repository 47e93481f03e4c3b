import { safeText } from './terminal-text.js';

/** Renders rows as an aligned text table; numbers right-aligned. Cells are often names from files: escaped. */
export function renderTable(headings: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : safeText(c))));
  const header = headings.map(safeText);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] === 'number' || /^-?\d+(\.\d+)?%?$/.test(String(r[i]))));
  const line = (r: readonly string[]): string =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  // A column without a heading (sweep's "← chosen" marks, evaluate's row names) gets no rule:
  // the rule underlines headings, one per heading.
  const rule = widths.map((w, i) => (header[i] === '' ? ' ' : '─').repeat(w)).join('  ').trimEnd();
  return [line(header), rule, ...cells.map(line)].join('\n');
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(1) : n.toFixed(4);
}
