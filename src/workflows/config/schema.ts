/**
 * The experiment file's schema, stated once: every field of every `kind`, its type, its range and
 * its default (taken from the workflows' *_DEFAULTS constants, never restated), plus the compact
 * validator that checks a parsed file against it. Errors name the file, line and column, the field
 * path (`compare.seeds`), the value received and a fix. Parsing the text is load.ts's job; this
 * file sees only positioned nodes, so it knows nothing of YAML.
 */
import * as path from 'node:path';
import { BACKEND_CHOICES } from '../../engine/backend.js';
import { GraftError, describeValue } from '../../errors.js';
import { parseTaskSpec } from '../../data/task.js';
import { ARCHITECTURES } from '../../models/architectures.js';
import { EARLY_STOPPING_DEFAULTS } from '../../train/early-stopping.js';
import { FIT_DEFAULTS } from '../../train/fit.js';
import { OPTIMIZER_DEFAULTS } from '../../train/optimizer.js';
import { FINE_TUNE_DEFAULTS } from '../../transfer/fine-tune.js';
import { parseFreezePolicy, parseUnfreezePolicy } from '../../transfer/freeze.js';
import { COMPARE_DEFAULTS } from '../compare.js';
import { LAYERS_DEFAULTS } from '../layers.js';
import { SWEEP_DEFAULTS } from '../sweep.js';
import { TRAIN_DEFAULTS } from '../train-model.js';

// ── Positioned input ────────────────────────────────────────────────────────────────────────────

/** 1-based line and column in the experiment file. */
export interface Pos {
  line: number;
  col: number;
}

/** A parsed file as the validator sees it: mappings (keys kept in order, duplicates kept), lists, scalars. */
export type ConfigNode =
  | { type: 'map'; pos: Pos; entries: ConfigEntry[] }
  | { type: 'list'; pos: Pos; items: ConfigNode[] }
  | { type: 'scalar'; pos: Pos; value: string | number | boolean | null };

export interface ConfigEntry {
  key: string;
  keyPos: Pos;
  value: ConfigNode;
}

// ── Field descriptions ──────────────────────────────────────────────────────────────────────────

interface FieldBase {
  /** One sentence for `graft run --help`. */
  doc: string;
  required?: boolean;
  /** The value used when the field is absent (documentation; the workflows apply it). */
  default?: unknown;
  /** A default that is not a plain value, in words. */
  defaultNote?: string;
  /** Shown in "Fix: write key: EXAMPLE" when there is no default to show. */
  example?: unknown;
}

export type FieldSpec =
  | (FieldBase & { type: 'string'; oneOf?: readonly string[]; expect?: string; check?: (text: string) => unknown })
  | (FieldBase & { type: 'path' })
  | (FieldBase & { type: 'number'; integer?: boolean; min?: number; max?: number; above?: number; below?: number; words?: readonly string[] })
  | (FieldBase & { type: 'boolean' })
  | (FieldBase & { type: 'layer' })
  | (FieldBase & { type: 'list'; items: FieldSpec; minItems?: number })
  | (FieldBase & { type: 'map'; fields: Readonly<Record<string, FieldSpec>> });

export interface KindSpec {
  summary: string;
  fields: Readonly<Record<string, FieldSpec>>;
}

/** The TypeScript type a field validates to. */
type Infer<F> = F extends { type: 'map'; fields: infer M }
  ? InferFields<M>
  : F extends { type: 'list'; items: infer I }
    ? Array<Infer<I>>
    : F extends { type: 'string'; oneOf: readonly (infer E)[] }
      ? E
      : F extends { type: 'string' | 'path' }
        ? string
        : F extends { type: 'number'; words: readonly (infer W)[] }
          ? number | W
          : F extends { type: 'number' }
            ? number
            : F extends { type: 'boolean' }
              ? boolean
              : F extends { type: 'layer' }
                ? string | number
                : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type InferFields<M> = Simplify<
  { -readonly [K in keyof M as M[K] extends { required: true } ? K : never]: Infer<M[K]> } & {
    -readonly [K in keyof M as M[K] extends { required: true } ? never : K]?: Infer<M[K]>;
  }
>;

// ── The fields ──────────────────────────────────────────────────────────────────────────────────

const TASK = {
  type: 'string',
  required: true,
  expect: 'a task spec',
  check: parseTaskSpec,
  example: 'fashion-mnist:binary=shirt,sandal',
  doc: 'Task spec: fashion-mnist, fashion-mnist:exclude=A,B, fashion-mnist:binary=NEGATIVE,POSITIVE or fashion-mnist:classes=A,B,C.',
} as const satisfies FieldSpec;
const OUT = { type: 'path', required: true, example: '../runs/NAME', doc: 'Output folder.' } as const satisfies FieldSpec;
const FROM = {
  type: 'path',
  required: true,
  example: '../runs/model-a',
  doc: "Source model: a graft run directory, a TF.js model.json, a Keras .h5 or .keras file. Never modified.",
} as const satisfies FieldSpec;
const BACKEND = { type: 'string', oneOf: BACKEND_CHOICES, default: 'auto', doc: 'Compute backend (auto: tfjs-node if installed, else wasm, else cpu). `graft run --backend` overrides it.' } as const satisfies FieldSpec;
const DATA_DIR = { type: 'path', doc: "Folder with the dataset files. Default: GRAFT_DATA_DIR, graft's cache, Debian's package, else a download." } as const satisfies FieldSpec;
const OFFLINE = { type: 'boolean', default: false, doc: 'Never download data.' } as const satisfies FieldSpec;
const PER_CLASS = { type: 'number', integer: true, min: 1, defaultNote: 'all', doc: 'Keep this many training images per class (seeded): the small-data regime.' } as const satisfies FieldSpec;
const VAL_SPLIT = { type: 'number', min: 0, max: 0.9, defaultNote: 'none', doc: 'Fraction of the training set held out for validation (never the test set).' } as const satisfies FieldSpec;
const FORCE = { type: 'boolean', default: false, doc: 'Replace existing outputs (`graft run --force` sets it too).' } as const satisfies FieldSpec;
const LOG = { type: 'path', doc: 'Append each epoch as a JSON line to this file.' } as const satisfies FieldSpec;
const CUT = { type: 'layer', defaultNote: 'all but the output layer', example: 'hidden', doc: 'Last reused layer, by name or index (negative counts from the end).' } as const satisfies FieldSpec;
const FREEZE = { type: 'string', check: parseFreezePolicy, default: 'all', expect: 'a freeze policy', doc: 'Reused layers frozen in phase 1: all, none, first:N, /regex/, or name,name.' } as const satisfies FieldSpec;
const UNFREEZE = { type: 'string', check: parseUnfreezePolicy, default: FINE_TUNE_DEFAULTS.unfrozen.unfreeze, expect: 'an unfreeze policy', doc: 'Layers unfrozen in phase 2: all, last:N or from:LAYER.' } as const satisfies FieldSpec;
const HEAD = {
  type: 'map',
  doc: 'The new head; its output size comes from the task.',
  fields: {
    hidden: { type: 'number', integer: true, min: 1, defaultNote: 'none', doc: 'Units of a hidden Dense (relu) layer before the output.' },
    dropout: { type: 'number', min: 0, max: 0.99, default: 0, doc: 'Dropout before the output layer.' },
    pooling: { type: 'string', oneOf: ['flatten', 'avg'], default: 'flatten', doc: 'How a feature map becomes a vector.' },
  },
} as const satisfies FieldSpec;
const EARLY_STOPPING = {
  type: 'map',
  defaultNote: 'off',
  doc: 'Stop a phase when validation loss stops improving (needs valSplit).',
  fields: {
    patience: { type: 'number', integer: true, min: 1, default: EARLY_STOPPING_DEFAULTS.patience, doc: 'Epochs without improvement before stopping.' },
    minDelta: { type: 'number', min: 0, default: EARLY_STOPPING_DEFAULTS.minDelta, doc: 'Smallest decrease of validation loss that counts.' },
    restoreBest: { type: 'boolean', default: EARLY_STOPPING_DEFAULTS.restoreBest, doc: 'Put back the best epoch’s weights when stopping.' },
  },
} as const satisfies FieldSpec;

const batchSize = <D extends number>(d: D) => ({ type: 'number', integer: true, min: 1, default: d, doc: 'Samples per gradient step.' }) as const satisfies FieldSpec;
const seedField = <D extends number>(d: D) =>
  ({ type: 'number', integer: true, min: 0, max: 2 ** 31 - 1, default: d, doc: 'Seed for weights, shuffling, dropout, subsampling and the split.' }) as const satisfies FieldSpec;
const seedsField = <D extends number>(d: D) => ({ type: 'number', integer: true, min: 1, max: 1000, default: d, doc: 'Number of seeds (0..N−1); each has its own subsample, split and initialisation.' }) as const satisfies FieldSpec;
const epochsField = <D extends number>(d: D | undefined, doc: string) => ({ type: 'number', integer: true, min: 0, default: d, doc }) as const satisfies FieldSpec;
const optimizer = (d: unknown, defaultNote?: string) =>
  ({
    type: 'map',
    default: d,
    ...(defaultNote !== undefined && { defaultNote }),
    doc: 'Optimizer; fields left out come from the default.',
    fields: {
      name: { type: 'string', oneOf: ['sgd', 'adam'], doc: 'sgd or adam.' },
      learningRate: { type: 'number', above: 0, max: 10, example: 0.001, doc: 'Learning rate.' },
      momentum: { type: 'number', min: 0, below: 1, default: OPTIMIZER_DEFAULTS.momentum, doc: 'SGD momentum; 0 is plain SGD.' },
    },
  }) as const satisfies FieldSpec;
const phase = (epochs: number, opt: ReturnType<typeof optimizer>, doc: string) =>
  ({ type: 'map', doc, fields: { epochs: epochsField(epochs, 'Epochs of this phase (0 skips an unfrozen phase).'), optimizer: opt } }) as const satisfies FieldSpec;
const UNFROZEN_LR_NOTE = `the frozen phase's optimizer at ${FINE_TUNE_DEFAULTS.unfrozen.learningRateFactor}× its learning rate`;
const COMMON_IO = { out: OUT, force: FORCE, backend: BACKEND, dataDir: DATA_DIR, offline: OFFLINE } as const;

/** Every kind of experiment and its fields. `kind` itself is the discriminant. */
export const EXPERIMENT_SCHEMA = {
  train: {
    summary: 'Train a model from scratch and save a run directory (graft train).',
    fields: {
      task: TASK,
      ...COMMON_IO,
      architecture: { type: 'string', oneOf: ARCHITECTURES, default: TRAIN_DEFAULTS.architecture, doc: 'Architecture to build.' },
      epochs: epochsField(TRAIN_DEFAULTS.epochs, 'Epochs.'),
      optimizer: optimizer({ name: OPTIMIZER_DEFAULTS.name, learningRate: OPTIMIZER_DEFAULTS.learningRate }),
      earlyStopping: EARLY_STOPPING,
      seed: seedField(TRAIN_DEFAULTS.seed),
      perClass: PER_CLASS,
      valSplit: VAL_SPLIT,
      batchSize: batchSize(FIT_DEFAULTS.batchSize),
      log: LOG,
    },
  },
  transfer: {
    summary: "Reuse a model's layers for a new task: new head, frozen phase, unfrozen phase at a lower rate (graft transfer).",
    fields: {
      task: TASK,
      from: FROM,
      ...COMMON_IO,
      cut: CUT,
      head: HEAD,
      freeze: FREEZE,
      unfreeze: UNFREEZE,
      frozen: phase(FINE_TUNE_DEFAULTS.frozen.epochs, optimizer(FINE_TUNE_DEFAULTS.frozen.optimizer), 'Phase 1: reused layers frozen.'),
      unfrozen: phase(FINE_TUNE_DEFAULTS.unfrozen.epochs, optimizer(undefined, UNFROZEN_LR_NOTE), 'Phase 2: layers unfrozen by `unfreeze`.'),
      earlyStopping: EARLY_STOPPING,
      seed: seedField(TRAIN_DEFAULTS.seed),
      perClass: PER_CLASS,
      valSplit: VAL_SPLIT,
      batchSize: batchSize(FIT_DEFAULTS.batchSize),
      log: LOG,
    },
  },
  seed: {
    summary: "The write-up's walkthrough: Model A, Model B by transfer, Model B from scratch (graft seed).",
    fields: {
      ...COMMON_IO,
      seed: seedField(TRAIN_DEFAULTS.seed),
      epochScale: { type: 'number', min: 0.01, max: 100, default: 1, doc: 'Multiplies every epoch count (1 is the write-up).' },
    },
  },
  compare: {
    summary: 'Did transfer help? Transfer vs the same architecture from scratch over train sizes and seeds (graft compare).',
    fields: {
      task: TASK,
      from: FROM,
      ...COMMON_IO,
      perClass: { type: 'list', minItems: 1, default: COMPARE_DEFAULTS.trainSizes, doc: 'Training images per class to compare at.', items: { type: 'number', integer: true, min: 1, words: ['all'], doc: 'A train size, or all.' } },
      seeds: seedsField(COMPARE_DEFAULTS.seeds),
      workers: { type: 'number', integer: true, min: 1, max: 64, defaultNote: 'one per core', doc: 'Worker threads running trials in parallel.' },
      cut: CUT,
      head: HEAD,
      freeze: FREEZE,
      frozen: phase(COMPARE_DEFAULTS.frozen.epochs, optimizer(COMPARE_DEFAULTS.frozen.optimizer), 'Phase 1, reused layers frozen; its optimizer also trains the scratch arm.'),
      unfrozen: phase(COMPARE_DEFAULTS.unfrozen.epochs, optimizer(undefined, UNFROZEN_LR_NOTE), 'Phase 2, everything unfrozen.'),
      valSplit: { type: 'number', min: 0.05, max: 0.5, default: COMPARE_DEFAULTS.valSplit, doc: 'Fraction of training images held out for early stopping.' },
      earlyStopping: {
        type: 'map',
        doc: 'Early stopping on validation loss, for both arms.',
        fields: { patience: { type: 'number', integer: true, min: 1, words: ['off'], default: COMPARE_DEFAULTS.earlyStoppingPatience, doc: 'Patience in epochs, or off.' } },
      },
      batchSize: batchSize(COMPARE_DEFAULTS.batchSize),
    },
  },
  sweep: {
    summary: 'Try configurations of the transfer recipe, choose on validation, score the choice once on test (graft sweep).',
    fields: {
      task: TASK,
      from: FROM,
      ...COMMON_IO,
      space: {
        type: 'map',
        required: true,
        doc: 'The values to try; a knob left out keeps its single default.',
        fields: {
          cut: { type: 'list', minItems: 1, defaultNote: 'all but the output layer', doc: 'Cut points to try.', items: CUT },
          freeze: { type: 'list', minItems: 1, default: ['all'], doc: 'Freeze policies to try.', items: FREEZE },
          frozenEpochs: { type: 'list', minItems: 1, default: [SWEEP_DEFAULTS.frozenEpochs], doc: 'Frozen-phase epochs to try.', items: epochsField(undefined, 'Epochs.') },
          unfrozenEpochs: { type: 'list', minItems: 1, default: [SWEEP_DEFAULTS.unfrozenEpochs], doc: 'Unfrozen-phase epochs to try.', items: epochsField(undefined, 'Epochs.') },
          frozenLr: { type: 'list', minItems: 1, default: [SWEEP_DEFAULTS.frozenLr], doc: 'Frozen-phase learning rates to try.', items: { type: 'number', above: 0, max: 10, example: 0.001, doc: 'A learning rate.' } },
          unfrozenLr: { type: 'list', minItems: 1, defaultNote: 'a tenth of each frozenLr', doc: 'Unfrozen-phase learning rates to try.', items: { type: 'number', above: 0, max: 10, example: 0.0001, doc: 'A learning rate.' } },
        },
      },
      mode: { type: 'string', oneOf: ['grid', 'random'], default: 'grid', doc: 'grid tries every combination; random draws `samples` of them.' },
      samples: { type: 'number', integer: true, min: 1, default: SWEEP_DEFAULTS.samples, doc: 'Configurations drawn in random mode.' },
      optimizer: { type: 'string', oneOf: ['sgd', 'adam'], default: SWEEP_DEFAULTS.optimizer, doc: 'Optimizer of both phases.' },
      valSplit: { type: 'number', above: 0, max: 0.9, default: SWEEP_DEFAULTS.valSplit, doc: 'Fraction of the training set the choice is made on.' },
      seed: seedField(SWEEP_DEFAULTS.seed),
      perClass: PER_CLASS,
      batchSize: batchSize(SWEEP_DEFAULTS.batchSize),
    },
  },
  layers: {
    summary: 'Layer transferability: copy the first n layers, frozen or fine-tuned, vs scratch (Yosinski et al. 2014).',
    fields: {
      task: TASK,
      from: FROM,
      ...COMMON_IO,
      epochs: epochsField(LAYERS_DEFAULTS.epochs, 'Epochs for every arm.'),
      seeds: seedsField(LAYERS_DEFAULTS.seeds),
      optimizer: optimizer(LAYERS_DEFAULTS.optimizer),
      perClass: PER_CLASS,
      batchSize: batchSize(LAYERS_DEFAULTS.batchSize),
    },
  },
} as const satisfies Record<string, KindSpec>;

export type ExperimentKind = keyof typeof EXPERIMENT_SCHEMA;
export const EXPERIMENT_KINDS = Object.keys(EXPERIMENT_SCHEMA) as ExperimentKind[];

/** A validated experiment: paths absolute, every value in range. Absent fields take the documented defaults. */
export type Experiment = { [K in ExperimentKind]: Simplify<{ kind: K } & InferFields<(typeof EXPERIMENT_SCHEMA)[K]['fields']>> }[ExperimentKind];
export type ExperimentOf<K extends ExperimentKind> = Extract<Experiment, { kind: K }>;

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
  const value = cx.map(root, fields, kind, `a kind: ${kind} experiment`) as Record<string, unknown>;
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
      const field = `${at}.${key}`;
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
        this.fail(keyPos, `${field} is not a field of ${what}; received "${key}". Fix: ${guess ? `did you mean "${guess}"?` : 'remove it.'} The fields are: ${Object.keys(fields).join(', ')}.`);
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
      case 'path':
        return typeof v === 'string' && v.trim() !== '' ? path.resolve(this.options.baseDir, v) : bad();
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

/** The closest choice by edit distance (ignoring case, "-" and "_"), when close enough to be a typo. */
export function suggest(word: string, choices: readonly string[]): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');
  let best: { choice: string; d: number } | undefined;
  for (const choice of choices) {
    const d = editDistance(norm(word), norm(choice));
    if (!best || d < best.d) best = { choice, d };
  }
  return best && best.d <= Math.max(1, Math.floor(word.length / 3)) ? best.choice : undefined;
}

export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
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
