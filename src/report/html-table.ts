import { esc } from './svg/escape.js';

/** Cell text is escaped; `{ html }` is for markup the report built itself (never user text). */
export type Cell = string | number | { html: string };

/** Numbers (and "12.3% ± 0.4", "−3.9 (…)") align right so their digits line up; words align left. */
const NUMERIC = /^[−+\-]?\d/;

function cell(c: Cell, tag: 'td' | 'th'): string {
  if (typeof c === 'object') return `<${tag}>${c.html}</${tag}>`;
  // The first column (a row header) names the row and stays left-aligned.
  const cls = tag === 'td' && (typeof c === 'number' || NUMERIC.test(c)) ? ' class="num"' : '';
  return `<${tag}${cls}>${esc(c)}</${tag}>`;
}

/** A plain data table in a horizontal scroller, so wide tables never squash the page. */
export function htmlTable(caption: string, head: readonly string[], rows: readonly (readonly Cell[])[], className = ''): string {
  return [
    `<div class="scroll"><table${className ? ` class="${esc(className)}"` : ''}>`,
    caption ? `<caption>${esc(caption)}</caption>` : '',
    `<thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead>`,
    `<tbody>${rows.map((r) => `<tr>${r.map((c, i) => cell(c, i === 0 ? 'th' : 'td')).join('')}</tr>`).join('')}</tbody>`,
    '</table></div>',
  ].join('');
}
