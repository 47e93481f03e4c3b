import { GraftError } from '../errors.js';

/**
 * A small CSV reader (RFC 4180): fields separated by commas, optionally quoted with "…" where ""
 * is a literal quote and commas and line breaks may appear; rows end with LF or CRLF. Each row
 * keeps its 1-based line number so errors can point at the line.
 */
export interface CsvRow {
  line: number;
  fields: string[];
}

/** Parses `text`; blank lines are dropped. `file` names the source in errors. */
export function parseCsv(text: string, file: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark from spreadsheet exports
  const endRow = (): void => {
    fields.push(field);
    if (fields.length > 1 || fields[0]!.trim() !== '') rows.push({ line: rowLine, fields });
    fields = [];
    field = '';
  };
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"' && field.trim() === '') {
      field = '';
      quoted = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else {
      field += ch;
    }
  }
  if (quoted) throw new GraftError('DATA_CORRUPT', `${file}: the quoted field starting on line ${rowLine} never ends (a " is missing). Close the quote, or write "" for a literal quote.`);
  if (field !== '' || fields.length > 0) endRow();
  return rows;
}
