import * as path from 'node:path';
import { rebaseUserTask } from '../prepare-user.js';
import { GraftError, describeValue } from '../../errors.js';
import { EXPERIMENT_SCHEMA, EXPERIMENT_KINDS, type Pos, type ConfigNode, type FieldSpec, type ExperimentKind, type Experiment } from './schema.js';
import { suggest } from '../../suggest.js';

/** Checks that involve two fields: [kind, field the error points at, problem or undefined]. */
const CROSS_CHECKS: ReadonlyArray<[ExperimentKind[], string, (e: Record<string, unknown>) => string | undefined]> = [
  [['train', 'transfer'], 'earlyStopping', (e) => (e.earlyStopping !== undefined && !(((e.valSplit as number | undefined) ?? 0) > 0) ? `needs validation data, but valSplit is ${e.valSplit ?? 'not set'}. Fix: add valSplit: 0.1, or remove earlyStopping.` : undefined)],
  [['sweep'], 'samples', (e) => (e.samples !== undefined && e.mode !== 'random' ? `applies only to mode: random; received samples: ${e.samples as number} with mode: ${(e.mode as string | undefined) ?? 'grid'}. Fix: add mode: random, or remove samples.` : undefined)],
];

// ── The validator ───────────────────────────────────────────────────────────────────────────────

export interface ValidateOptions {
  /** Shown at the start of every error (the path as the user gave it). */
  file: string;
  /** Relative paths resolve against this folder (the file's own). */
  baseDir: string;
  /** Used when the file has no `kind` (graft sweep FILE); without it, `kind` is required. */
  defaultKind?: ExperimentKind;
  /** An output folder given on the command line: replaces the file's `out`, and may lie anywhere. */
  out?: string;
}

const MAX_ERRORS = 10;

/** Validates a parsed file; throws one BAD_ARGUMENT GraftError listing every problem (up to 10), one per line. */
export function validateExperiment(root: ConfigNode, options: ValidateOptions): Experiment {
  const cx = new Checker(options);
  if (root.type !== 'map') {
    cx.fail(root.pos, `an experiment file must be a mapping of fields (kind: ..., task: ..., out: ...); received ${received(root)}. Fix: start from one of the files in examples/.`);
    return cx.stop();
  }
  const kindEntry = root.entries.find((e) => e.key === 'kind');
  let kind: ExperimentKind | undefined = options.defaultKind;
  if (kindEntry) kind = cx.value(kindEntry.value, { type: 'string', oneOf: EXPERIMENT_KINDS, doc: '' }, 'kind') as ExperimentKind | undefined;
  else if (!kind) cx.fail(root.pos, `kind is required; received nothing. Fix: add a first line kind: KIND, one of ${EXPERIMENT_KINDS.join(', ')}.`);
  if (!kind) return cx.stop();
  const fields: Record<string, FieldSpec> = { kind: { type: 'string', oneOf: [kind], doc: '' }, ...EXPERIMENT_SCHEMA[kind].fields };
  if (options.out !== undefined) fields.out = { type: 'path', doc: '' };
  const value = cx.map(root, fields, kind, `a kind: ${kind} experiment`) as Record<string, unknown>;
  if (options.out !== undefined) value.out = path.resolve(options.out);
  // folder:photos in an experiment file means the photos beside the file, wherever graft runs.
  if (typeof value.task === 'string' && cx.clean) value.task = rebaseUserTask(value.task, options.baseDir);
  for (const [kinds, field, rule] of CROSS_CHECKS) {
    const problem = kinds.includes(kind) && cx.clean ? rule(value) : undefined;
    if (problem) cx.fail(cx.positions.get(`${kind}.${field}`) ?? root.pos, `${kind}.${field} ${problem}`);
  }
  return cx.done({ ...value, kind } as Experiment);
}

class Checker {
  private readonly errors: string[] = [];
  /** Where each field path was found, for cross-field errors. */
  readonly positions = new Map<string, Pos>();

  constructor(private readonly options: ValidateOptions) {}

  get clean(): boolean {
    return this.errors.length === 0;
  }

  fail(pos: Pos, text: string): undefined {
    this.errors.push(`${this.options.file}:${pos.line}:${pos.col}: ${text}`);
    return undefined;
  }

  /** Returns `value` when nothing failed; otherwise throws every error found. */
  done<T>(value: T): T {
    if (this.errors.length === 0) return value;
    return this.stop();
  }

  stop(): never {
    const more = this.errors.length > MAX_ERRORS ? `\n(and ${this.errors.length - MAX_ERRORS} more)` : '';
    throw new GraftError('BAD_ARGUMENT', this.errors.slice(0, MAX_ERRORS).join('\n') + more);
  }

  map(node: ConfigNode & { type: 'map' }, fields: Readonly<Record<string, FieldSpec>>, at: string, what: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const seen = new Map<string, Pos>();
    for (const { key, keyPos, value } of node.entries) {
      // A damaged file can hold a 100 000-character key; messages show its start.
      const field = `${at}.${key.length > 40 ? `${key.slice(0, 37)}...` : key}`;
      const first = seen.get(key);
      if (first) {
        this.fail(keyPos, `${field} appears twice (first at line ${first.line}); received a second value ${received(value)}. Fix: keep one of them.`);
        continue;
      }
      seen.set(key, keyPos);
      this.positions.set(field, keyPos);
      const spec = fields[key];
      if (!spec) {
        const guess = suggest(key, Object.keys(fields));
        this.fail(keyPos, `${field} is not a field of ${what}; received ${describeValue(key)}. Fix: ${guess ? `did you mean "${guess}"?` : 'remove it.'} The fields are: ${Object.keys(fields).join(', ')}.`);
        continue;
      }
      const v = this.value(value, spec, field);
      if (v !== undefined) out[key] = v;
    }
    for (const [key, spec] of Object.entries(fields)) {
      if (spec.required && !seen.has(key)) this.fail(node.pos, `${at}.${key} is required (${spec.doc}); received nothing. Fix: add ${key}: ${inline(exampleOf(spec))}.`);
    }
    return out;
  }

  value(node: ConfigNode, spec: FieldSpec, at: string): unknown {
    const bad = (why = ''): undefined => this.fail(node.pos, `${at} must be ${expectation(spec)}${why}; received ${received(node)}. Fix: ${fixFor(spec, at, node)}`);
    if (spec.type === 'map') return node.type === 'map' ? this.map(node, spec.fields, at, at) : bad();
    if (spec.type === 'list') {
      if (node.type !== 'list') return bad();
      if (node.items.length < (spec.minItems ?? 0)) return bad(` with at least ${spec.minItems} item${spec.minItems === 1 ? '' : 's'}`);
      const items = node.items.map((item, i) => this.value(item, spec.items, `${at}[${i}]`));
      return items.every((i) => i !== undefined) ? items : undefined;
    }
    if (node.type !== 'scalar') return bad();
    const v = node.value;
    switch (spec.type) {
      case 'boolean':
        return typeof v === 'boolean' ? v : bad();
      case 'path': {
        if (typeof v !== 'string' || v.trim() === '') return bad();
        const resolved = path.resolve(this.options.baseDir, v);
        // An output beside or above the file could be a folder the user keeps (`out: ../../` with force: true).
        const rel = path.relative(this.options.baseDir, resolved);
        if (spec.inside && (rel === '' || rel.startsWith('..') || path.isAbsolute(rel))) {
          return this.fail(node.pos, `${at} must be a folder inside the experiment file's folder ${this.options.baseDir}; received ${received(node)}, which is ${resolved}. Fix: write ${at}: runs/NAME (under the file's folder), or give the folder on the command line: graft run FILE --out DIR.`);
        }
        return resolved;
      }
      case 'layer':
        return (typeof v === 'string' && v.trim() !== '') || (typeof v === 'number' && Number.isInteger(v)) ? v : bad();
      case 'number':
        if (typeof v === 'string' && spec.words?.includes(v)) return v;
        return typeof v === 'number' && inRange(v, spec) ? v : bad();
      case 'string': {
        if (typeof v !== 'string' || v.trim() === '') return bad();
        if (spec.oneOf && !spec.oneOf.includes(v)) return bad();
        try {
          spec.check?.(v);
        } catch (e) {
          if (!(e instanceof GraftError)) throw e;
          // The parsers speak in CLI flags ("--freeze received …; use …"); keep only their advice.
          const advice = e.message.replace(/^--[\w-]+ (received "[^"]*"[;:] ?)?/, '');
          return this.fail(node.pos, `${at} is not ${spec.expect ?? 'valid'}; received ${describeValue(v)}. Fix: ${advice.charAt(0).toLowerCase()}${advice.slice(1)}`);
        }
        return v;
      }
    }
  }
}

function inRange(v: number, s: FieldSpec & { type: 'number' }): boolean {
  return Number.isFinite(v) && (!s.integer || Number.isInteger(v)) && v >= (s.min ?? -Infinity) && v <= (s.max ?? Infinity) && v > (s.above ?? -Infinity) && v < (s.below ?? Infinity);
}

/** What a field must be, in words: "a whole number ≥ 1", "one of grid, random". */
function expectation(s: FieldSpec): string {
  switch (s.type) {
    case 'map':
      return `a mapping with the fields ${Object.keys(s.fields).join(', ')}`;
    case 'list':
      return `a list, each item ${expectation(s.items)}`;
    case 'boolean':
      return 'true or false';
    case 'path':
      return "a path (relative to the config file's folder)";
    case 'layer':
      return 'a layer name or index (graft inspect lists them)';
    case 'string':
      return s.oneOf ? `one of ${s.oneOf.join(', ')}` : (s.expect ?? 'text');
    case 'number': {
      const bounds = [s.min !== undefined && `≥ ${s.min}`, s.above !== undefined && `> ${s.above}`, s.max !== undefined && `≤ ${s.max}`, s.below !== undefined && `< ${s.below}`].filter(Boolean);
      const words = s.words ? ` or ${s.words.map((w) => JSON.stringify(w)).join(' or ')}` : '';
      return `${s.integer ? 'a whole number' : 'a number'}${bounds.length ? ` ${bounds.join(' and ')}` : ''}${words}`;
    }
  }
}

function fixFor(s: FieldSpec, at: string, node: ConfigNode): string {
  const key = at.slice(at.lastIndexOf('.') + 1).replace(/\[\d+\]$/, '');
  if (s.type === 'string' && s.oneOf && node.type === 'scalar' && typeof node.value === 'string') {
    const guess = suggest(node.value, s.oneOf);
    if (guess) return `did you mean ${key}: ${guess}?`;
  }
  if (/\[\d+\]$/.test(at)) return `write each item as ${inline(exampleOf(s))}.`;
  if (s.type === 'map') return `write ${key}: followed by indented fields, e.g. ${key}: ${inline(exampleOf(s))}.`;
  return `write ${key}: ${inline(exampleOf(s))}.`;
}

function exampleOf(s: FieldSpec): unknown {
  if (s.example !== undefined) return s.example;
  if (s.default !== undefined) return s.default;
  switch (s.type) {
    case 'map':
      return Object.fromEntries(Object.entries(s.fields).slice(0, 1).map(([k, f]) => [k, exampleOf(f)]));
    case 'list':
      return [exampleOf(s.items)];
    case 'string':
      return s.oneOf?.[0] ?? 'TEXT';
    case 'number':
      return s.min ?? (s.above !== undefined ? s.above + 1 : 1);
    case 'boolean':
      return true;
    case 'path':
      return 'PATH';
    case 'layer':
      return 'LAYER';
  }
}

/** A value in YAML flow style, for messages and help. */
export function inline(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(inline).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${inline(x)}`).join(', ')} }`;
  return String(v);
}

function received(node: ConfigNode): string {
  if (node.type === 'map') return 'a mapping';
  if (node.type === 'list') return node.items.every((i) => i.type === 'scalar') ? describeValue(node.items.map((i) => (i as { value: unknown }).value)) : `a list of ${node.items.length} item${node.items.length === 1 ? '' : 's'}`;
  return node.value === null ? 'an empty value' : describeValue(node.value);
}

// ── Reference for --help ────────────────────────────────────────────────────────────────────────

/** Every kind and field with its default, rendered from the schema (the one place defaults are stated). */
export function schemaReference(): string {
  const lines: string[] = [];
  const walk = (fields: Readonly<Record<string, FieldSpec>>, indent: string): void => {
    for (const [name, f] of Object.entries(fields)) {
      const dflt = f.required ? ' (required)' : f.default !== undefined ? ` (default ${inline(f.default)})` : f.defaultNote ? ` (default: ${f.defaultNote})` : '';
      lines.push(`${indent}${name}: ${expectation(f.type === 'map' ? { ...f, fields: {} } : f).replace(/ with the fields $/, '')}${dflt} — ${f.doc}`);
      if (f.type === 'map') walk(f.fields, `${indent}  `);
    }
  };
  for (const kind of EXPERIMENT_KINDS) {
    lines.push(`kind: ${kind} — ${EXPERIMENT_SCHEMA[kind].summary}`);
    walk(EXPERIMENT_SCHEMA[kind].fields, '  ');
  }
  return lines.join('\n');
}
