/**
 * Escaping for text and attribute values in HTML and SVG. Everything the report prints that came
 * from outside (class names, task specs, paths, messages) goes through here: a class name is user
 * input and must never become markup.
 */
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}
