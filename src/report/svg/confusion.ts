import { esc } from './escape.js';

/**
 * The confusion matrix as a coloured HTML table (rows: true class, columns: predicted). An HTML
 * table rather than SVG because class names wrap and the numbers stay selectable and readable
 * by screen readers. Shade = share of the true class's samples, so rare classes are as visible as
 * common ones; blue on the diagonal (right), orange off it (wrong).
 */
export function confusionTable(confusion: readonly (readonly number[])[], classNames: readonly string[], caption: string): string {
  const k = confusion.length;
  const name = (i: number): string => classNames[i] ?? String(i);
  const head = Array.from({ length: k }, (_, j) => `<th scope="col">${headingLines(name(j)).map(esc).join('<br>')}</th>`).join('');
  const rows = confusion.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    const cells = Array.from({ length: k }, (_, j) => {
      const v = row[j] ?? 0;
      const share = total > 0 ? v / total : 0;
      const alpha = v === 0 ? 0 : 0.12 + 0.88 * share;
      const rgb = i === j ? '0, 114, 178' : '213, 94, 0';
      const fg = alpha > 0.55 ? '#fff' : '#1f2933';
      const tip = `true ${name(i)}, predicted ${name(j)}: ${v} (${(100 * share).toFixed(1)}% of ${name(i)})`;
      return `<td style="background: rgba(${rgb}, ${alpha.toFixed(3)}); color: ${fg}" title="${esc(tip)}">${v}</td>`;
    });
    return `<tr><th scope="row">${esc(name(i))}</th>${cells.join('')}</tr>`;
  });
  return [
    '<div class="scroll"><table class="confusion">',
    `<caption>${esc(caption)}</caption>`,
    `<thead><tr><th class="corner" scope="col">true ↓ predicted →</th>${head}</tr></thead>`,
    `<tbody>${rows.join('')}</tbody>`,
    '</table></div>',
  ].join('');
}

/** About this many characters fit the 86 px a heading of a 0.8rem font is meant to take. */
const HEADING_CHARS = 12;

/**
 * A column heading broken into lines between words only: at spaces, and after the separators of
 * names like "golden_retriever" or "T-shirt/top". The heading is laid out here (and the stylesheet
 * keeps it from wrapping), so the browser never cuts a word ("Staffordsh / ire"); a word longer
 * than a line gets its own line and widens its column.
 */
export function headingLines(name: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of name.split(/\s+/).filter(Boolean)) {
    word.split(/(?<=[/_.-])(?=.)/).forEach((part, i) => {
      const joined = line === '' ? part : i === 0 ? `${line} ${part}` : line + part;
      if (line !== '' && joined.length > HEADING_CHARS) {
        lines.push(line);
        line = part;
      } else line = joined;
    });
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}
