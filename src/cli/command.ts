import { parseArgs } from 'node:util';
import { GraftError } from '../errors.js';
import { suggest } from '../suggest.js';

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
    parsed = parseArgs({ args: checkFlags(def, argv), options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new GraftError('BAD_ARGUMENT', `${(e as Error).message.replace(/\. To specify a positional.*$/s, '')}\n${helpHint(def)}`);
  }
  const values: Record<string, unknown> = { ...parsed.values };
  const explicit = new Set(Object.keys(parsed.values));
  for (const [name, o] of Object.entries(def.options)) if (values[name] === undefined && o.default !== undefined) values[name] = o.default;
  return { values: values as ParsedArgs<O>['values'], positionals: parsed.positionals, explicit };
}

const helpHint = (def: CommandDef): string => `Run \`graft ${def.name} --help\` for the options.`;

/** A negative number given as a flag's value (`--epochs -1`), which node:util reads as another flag. */
const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity$|NaN$)/;

/**
 * Checks the flags before node:util's parser, whose messages name neither the likely flag nor the
 * value's range: an unknown flag gets the closest one suggested, a flag's negative number is kept
 * as its value (for numberOption's message), and a flag followed by another flag instead of its
 * value says so.
 */
function checkFlags(def: CommandDef, argv: readonly string[]): string[] {
  const out: string[] = [];
  const shorts = new Map(Object.entries(def.options).flatMap(([name, o]) => (o.short ? [[o.short, name] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || NEGATIVE_NUMBER.test(arg)) {
      out.push(arg);
      continue;
    }
    const name = arg.startsWith('--') ? arg.slice(2).split('=')[0]! : shorts.get(arg.slice(1, 2));
    const option = name !== undefined && Object.hasOwn(def.options, name) ? def.options[name] : undefined;
    if (name === undefined || option === undefined) {
      const typed = arg.split('=')[0]!;
      const guess = suggest(typed.replace(/^-+/, ''), Object.keys(def.options));
      throw new GraftError('BAD_ARGUMENT', `graft ${def.name} has no option ${typed}${guess ? `; did you mean --${guess}?` : '.'}\n${helpHint(def)}`);
    }
    const next = argv[i + 1];
    if (option.type === 'string' && !arg.includes('=') && arg.startsWith('--')) {
      if (next === undefined || (next.startsWith('-') && next !== '-' && !NEGATIVE_NUMBER.test(next))) {
        const got = next === undefined ? 'nothing after it' : `the flag ${next} instead`;
        throw new GraftError('BAD_ARGUMENT', `--${name} needs a value (${option.value ?? 'VALUE'}: ${option.description}); received ${got}.\n${helpHint(def)}`);
      }
      if (NEGATIVE_NUMBER.test(next)) {
        out.push(`--${name}=${next}`);
        i++;
        continue;
      }
    }
    out.push(arg);
  }
  return out;
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

/** Number option parsing with a message naming the flag, the allowed range in words and the received text. */
export function numberOption(
  name: string,
  text: string | undefined,
  { integer = false, min = -Infinity, max = Infinity, above }: { integer?: boolean; min?: number; max?: number; above?: number } = {},
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max || (above !== undefined && n <= above)) {
    throw new GraftError('BAD_ARGUMENT', `--${name} needs ${integer ? 'a whole number' : 'a number'}${rangeInWords(min, max, above)}; received ${JSON.stringify(text)}.`);
  }
  return n;
}

function rangeInWords(min: number, max: number, above: number | undefined): string {
  const upTo = max < Infinity ? ` and at most ${max}` : '';
  if (above !== undefined) return ` greater than ${above}${upTo}`;
  if (min > -Infinity) return max < Infinity ? ` from ${min} to ${max}` : `, ${min} or more`;
  return max < Infinity ? `, at most ${max}` : '';
}
