/**
 * Text from files (layer and class names, task specs, keras_version, file names, values of an
 * experiment file) reaches the terminal through these, so a name cannot carry an escape sequence
 * that retitles the window, clears the screen, moves the cursor or hides text: C0 controls, DEL,
 * C1 controls (U+0080–U+009F, which terminals may read as ESC-sequences too) and the Unicode bidi
 * and line-separator controls are shown as visible escapes such as `\x1b` or `\u202e`.
 */

// C0 but \n, DEL, C1, the bidi embeddings/overrides/isolates and marks, and U+2028/U+2029.
const CONTROLS_BUT_NEWLINE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROLS = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function visible(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One value for one line of output (a name, a path): every control shown escaped, newlines included. */
export function safeText(value: unknown): string {
  return String(value).replace(CONTROLS, visible);
}

/** A whole message graft composed (it may hold data): its own line breaks kept, every other control escaped. */
export function safeLines(text: string): string {
  return text.replace(CONTROLS_BUT_NEWLINE, visible);
}

/** Writes graft's text to stdout with any control characters from data made visible. */
export function printOut(text: string): void {
  process.stdout.write(safeLines(text));
}

/** The same for stderr. */
export function printErr(text: string): void {
  process.stderr.write(safeLines(text));
}

// JSON.stringify escapes C0 controls but writes DEL, C1 and bidi controls raw.
const JSON_RAW_CONTROLS = /[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON for the terminal: the same value once parsed, with the controls JSON.stringify leaves raw
 * written as \u escapes (they only ever occur inside strings, where the escape means the same).
 */
export function terminalJson(value: unknown, indent?: number): string {
  return (JSON.stringify(value, null, indent) ?? 'null').replace(JSON_RAW_CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
