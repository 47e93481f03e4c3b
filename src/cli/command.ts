import { parseArgs } from 'node:util';
import { GraftError } from '../errors.js';

/** One option of a command: its help text and default are stated once, here. */
export interface OptionDef {
  type: 'string' | 'boolean';
  description: string;
  /** Shown in help; also applied when the flag is absent. */
  default?: string | boolean;
  /** Placeholder in help, e.g. "SPEC". */
  value?: string;
  short?: string;
}

export interface CommandDef<O extends Record<string, OptionDef> = Record<string, OptionDef>> {
  name: string;
  summary: string;
  usage: string;
  options: O;
  /** Extra help text after the options (examples). */
  epilog?: string;
  run(args: ParsedArgs<O>): Promise<number>;
}

export type ParsedArgs<O extends Record<string, OptionDef>> = {
  values: { [K in keyof O]: O[K]['type'] extends 'boolean' ? boolean : O[K]['default'] extends string ? string : string | undefined };
  positionals: string[];
  /** Options given on the command line (not filled in from defaults), e.g. to refuse them with --resume. */
  explicit?: ReadonlySet<string>;
};

export function defineCommand<O extends Record<string, OptionDef>>(def: CommandDef<O>): CommandDef<O> {
  return def;
}

/** Parses argv for a command; unknown flags and bad values are user errors (exit 2). */
export function parseCommandArgs<O extends Record<string, OptionDef>>(def: CommandDef<O>, argv: string[]): ParsedArgs<O> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, o] of Object.entries(def.options)) options[name] = o.short ? { type: o.type, short: o.short } : { type: o.type };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new GraftError('BAD_ARGUMENT', `${(e as Error).message.replace(/\. To specify a positional.*$/s, '')}\nRun \`graft ${def.name} --help\` for the options.`);
  }
  const values: Record<string, unknown> = { ...parsed.values };
  const explicit = new Set(Object.keys(parsed.values));
  for (const [name, o] of Object.entries(def.options)) if (values[name] === undefined && o.default !== undefined) values[name] = o.default;
  return { values: values as ParsedArgs<O>['values'], positionals: parsed.positionals, explicit };
}

export function commandHelp(def: CommandDef): string {
  const rows = Object.entries(def.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const dflt = o.default !== undefined && o.default !== false ? ` (default: ${o.default})` : '';
    return [flag, `${o.description}${dflt}`] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length), 10) + 2;
  const lines = [`${def.summary}`, '', `Usage: ${def.usage}`, '', 'Options:', ...rows.map(([f, d]) => `  ${f.padEnd(width)}${d}`)];
  if (def.epilog) lines.push('', def.epilog);
  return `${lines.join('\n')}\n`;
}

/** Number option parsing with a message naming the flag and the received text. */
export function numberOption(name: string, text: string | undefined, { integer = false, min = -Infinity, max = Infinity } = {}): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    const kind = integer ? 'a whole number' : 'a number';
    const range = min > -Infinity || max < Infinity ? ` in ${min}..${max}` : '';
    throw new GraftError('BAD_ARGUMENT', `--${name} needs ${kind}${range}; received ${JSON.stringify(text)}.`);
  }
  return n;
}
