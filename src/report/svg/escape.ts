/**
 * Escaping for text and attribute values in HTML and SVG. Everything the report prints that came
 * from outside (class names, task specs, paths, messages) goes through here: a class name is user
 * input and must never become markup. Control characters (but tab and newline) are shown as `\x1b`
 * or `\u202e` as in the CLI's output: browsers hide them, but `cat report.html` would pass an
 * escape sequence from a name to the terminal.
 */
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function visible(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

export function esc(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!).replace(CONTROLS, visible);
}
