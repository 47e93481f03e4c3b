/**
 * The experiment file's schema, stated once: every field of every `kind`, its type, its range and
 * its default (taken from the workflows' *_DEFAULTS constants, never restated), plus the compact
 * validator that checks a parsed file against it. Errors name the file, line and column, the field
 * path (`compare.seeds`), the value received and a fix. Parsing the text is load.ts's job; this
 * file sees only positioned nodes, so it knows nothing of YAML.
 */
import * as path from 'node:path';
import { BACKEND_CHOICES } from '../../engine/backend.js';
import { ENGINE_CHOICES } from '../../engine/engine-choice.js';
import { GraftError, describeValue } from '../../errors.js';
import { canonicalTaskText } from '../../data/task-text.js';
import { ARCHITECTURES } from '../../models/architectures.js';
import { EARLY_STOPPING_DEFAULTS } from '../../train/early-stopping.js';
import { FIT_DEFAULTS } from '../../train/fit.js';
import { ADAMW_DEFAULT_DECAY, OPTIMIZER_DEFAULTS, OPTIMIZER_NAMES } from '../../train/optimizer.js';
import { resolveSchedule, SCHEDULE_FORMS } from '../../train/schedule.js';
import { BATCH_NORM_AUTO, BATCH_NORM_MODES } from '../../train/batchnorm-mode.js';
import { MONITOR_METRICS } from '../../train/callbacks/monitor.js';
import { REDUCE_ON_PLATEAU_DEFAULTS } from '../../train/callbacks/reduce-on-plateau.js';
import { FINE_TUNE_DEFAULTS } from '../../transfer/fine-tune.js';
import { parseFreezePolicy, parseUnfreezePolicy } from '../../transfer/freeze.js';
import { checkInputPreprocessText } from '../../models/input-preprocess.js';
import { parseClassWeight } from '../../train/class-weight.js';
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
  | (FieldBase & { type: 'path'; /** An output: must lie inside the experiment file's folder (a path given on the command line may lie anywhere). */ inside?: boolean })
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
  check: canonicalTaskText,
  example: 'fashion-mnist:binary=shirt,sandal',
  doc: 'Task spec: fashion-mnist, fashion-mnist:exclude=A,B, fashion-mnist:binary=NEGATIVE,POSITIVE or fashion-mnist:classes=A,B,C; cifar10 alike; your own images as folder:PATH or csv:FILE (a relative PATH is relative to the experiment file), with the same :classes=/:binary=/:exclude= suffixes.',
} as const satisfies FieldSpec;
const OUT = { type: 'path', required: true, inside: true, example: 'runs/NAME', doc: "Output folder, inside the experiment file's folder (`graft run FILE --out DIR` puts it anywhere)." } as const satisfies FieldSpec;
const FROM = {
  type: 'path',
  required: true,
  example: '../runs/model-a',
  doc: 'Source model: a graft run directory, a TF.js model.json, a Keras .h5 or .keras file, or an ONNX image model (with `preprocess`). Never modified.',
} as const satisfies FieldSpec;
/** The fields only ONNX sources take (ONNX files record no preprocessing). */
const ONNX_SOURCE = {
  preprocess: { type: 'string', check: checkInputPreprocessText, expect: 'a preprocessing', doc: 'ONNX sources (required for them): imagenet, tf, caffe, scale, raw, or mean=M,…,std=S,….' },
  layout: { type: 'string', oneOf: ['nchw', 'nhwc'], doc: "ONNX sources: the input's layout (default: read from its shape)." },
} as const satisfies Record<string, FieldSpec>;
const BACKEND = { type: 'string', oneOf: BACKEND_CHOICES, default: 'auto', doc: 'Compute backend (auto: tfjs-node if installed, else wasm, else cpu). `graft run --backend` overrides it.' } as const satisfies FieldSpec;
const ENGINE = {
  type: 'string',
  oneOf: ENGINE_CHOICES,
  default: 'auto',
  doc: 'Training engine (auto: onnxruntime where it can train the model and onnxruntime-node is installed, else TF.js). `graft run --engine` overrides it.',
} as const satisfies FieldSpec;
const DATA_DIR = { type: 'path', doc: "Folder with the dataset files. Default: GRAFT_DATA_DIR, graft's cache, Debian's package, else a download." } as const satisfies FieldSpec;
const OFFLINE = { type: 'boolean', default: false, doc: 'Never download data.' } as const satisfies FieldSpec;
const PER_CLASS = { type: 'number', integer: true, min: 1, defaultNote: 'all', doc: 'Keep this many training images per class (seeded): the small-data regime.' } as const satisfies FieldSpec;
const VAL_SPLIT = { type: 'number', min: 0, max: 0.9, defaultNote: 'none', doc: 'Fraction of the training set held out for validation (never the test set).' } as const satisfies FieldSpec;
const FORCE = { type: 'boolean', default: false, doc: 'Replace existing outputs (`graft run --force` sets it too).' } as const satisfies FieldSpec;
const LOG = { type: 'path', doc: 'Append each epoch as a JSON line to this file.' } as const satisfies FieldSpec;
const CUT = { type: 'layer', defaultNote: 'all but the output layer', example: 'hidden', doc: 'Last reused layer, by name or index (negative counts from the end).' } as const satisfies FieldSpec;
const FREEZE = { type: 'string', check: parseFreezePolicy, default: 'all', expect: 'a freeze policy', doc: 'Reused layers frozen in phase 1: all, none, first:N, /regex/, name,name, or weights:/regex/ (single weights).' } as const satisfies FieldSpec;
const CLASS_WEIGHT = {
  type: 'string',
  check: parseClassWeight,
  defaultNote: 'none',
  expect: 'a class weight',
  example: 'balanced',
  doc: "Weight the training loss per class, as Keras's class_weight: balanced (n / (classes × count)) or class=weight,… by name or index (others 1).",
} as const satisfies FieldSpec;
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

const WEIGHT_DECAY = {
  type: 'number',
  min: 0,
  below: 1,
  defaultNote: `0; adamw ${ADAMW_DEFAULT_DECAY}`,
  doc: 'Weight decay: L2 on the gradient for sgd/adam, decoupled for adamw/rmsprop.',
} as const satisfies FieldSpec;
const SCHEDULE = { type: 'string', check: resolveSchedule, expect: 'a learning-rate schedule', defaultNote: 'constant', example: 'cosine', doc: `Learning-rate schedule: ${SCHEDULE_FORMS}.` } as const satisfies FieldSpec;
const BATCH_NORM = {
  type: 'string',
  oneOf: BATCH_NORM_MODES,
  default: 'auto',
  doc: `BatchNorm where reused layers train: frozen (moving statistics used and kept, as Keras's fine-tuning guide), train (batch statistics), or auto (${BATCH_NORM_AUTO}, chosen by measurement: README "Recipes and BatchNorm").`,
} as const satisfies FieldSpec;
/** Issue 16's callbacks and loss control, named as the library's options (`graft run --help` pairs them with the flags). */
const CONTROLS = {
  labelSmoothing: { type: 'number', min: 0, below: 1, default: 0, doc: 'Smooth the training targets by this much (--label-smoothing).' },
  keepBest: { type: 'boolean', default: false, doc: 'End each training with the weights of its best epoch by `monitor` (--keep best; needs a validation split).' },
  reduceOnPlateau: {
    type: 'map',
    defaultNote: 'off',
    doc: 'Multiply the learning rate by factor after patience epochs without improvement of `monitor` (--reduce-on-plateau; needs a validation split).',
    fields: {
      patience: { type: 'number', integer: true, min: 1, required: true, example: 3, doc: 'Epochs without improvement.' },
      factor: { type: 'number', above: 0, below: 1, default: REDUCE_ON_PLATEAU_DEFAULTS.factor, doc: 'Multiplies the rate.' },
    },
  },
  monitor: { type: 'string', oneOf: MONITOR_METRICS, default: 'val_loss', doc: 'Validation metric that early stopping, keepBest and reduceOnPlateau watch (--monitor).' },
} as const satisfies Record<string, FieldSpec>;

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
      name: { type: 'string', oneOf: OPTIMIZER_NAMES, doc: `${OPTIMIZER_NAMES.join(', ')}.` },
      learningRate: { type: 'number', above: 0, max: 10, example: 0.001, doc: 'Learning rate (the peak when scheduled).' },
      momentum: { type: 'number', min: 0, below: 1, default: OPTIMIZER_DEFAULTS.momentum, doc: 'SGD or RMSprop momentum; 0 is none.' },
      weightDecay: WEIGHT_DECAY,
    },
  }) as const satisfies FieldSpec;
const phase = (epochs: number, opt: ReturnType<typeof optimizer>, doc: string) =>
  ({ type: 'map', doc, fields: { epochs: epochsField(epochs, 'Epochs of this phase (0 skips an unfrozen phase).'), optimizer: opt, schedule: SCHEDULE } }) as const satisfies FieldSpec;
const UNFROZEN_LR_NOTE = `the frozen phase's optimizer at ${FINE_TUNE_DEFAULTS.unfrozen.learningRateFactor}× its learning rate`;
const COMMON_IO = { out: OUT, force: FORCE, backend: BACKEND, engine: ENGINE, dataDir: DATA_DIR, offline: OFFLINE } as const;

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
      schedule: SCHEDULE,
      earlyStopping: EARLY_STOPPING,
      seed: seedField(TRAIN_DEFAULTS.seed),
      perClass: PER_CLASS,
      valSplit: VAL_SPLIT,
      batchSize: batchSize(FIT_DEFAULTS.batchSize),
      classWeight: CLASS_WEIGHT,
      ...CONTROLS,
      log: LOG,
    },
  },
  transfer: {
    summary: "Reuse a model's layers for a new task: new head, frozen phase, unfrozen phase at a lower rate (graft transfer).",
    fields: {
      task: TASK,
      from: FROM,
      ...ONNX_SOURCE,
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
      classWeight: CLASS_WEIGHT,
      batchNorm: { ...BATCH_NORM, doc: `${BATCH_NORM.doc} The unfrozen phase.` },
      ...CONTROLS,
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
      ...ONNX_SOURCE,
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
      classWeight: { ...CLASS_WEIGHT, doc: `${CLASS_WEIGHT.doc} Both arms.` },
      batchNorm: { ...BATCH_NORM, doc: `${BATCH_NORM.doc} The transfer arm's unfrozen phase.` },
      ...CONTROLS,
    },
  },
  sweep: {
    summary: 'Try configurations of the transfer recipe, choose on validation, score the choice once on test (graft sweep).',
    fields: {
      task: TASK,
      from: FROM,
      ...ONNX_SOURCE,
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
      optimizer: { type: 'string', oneOf: OPTIMIZER_NAMES, default: SWEEP_DEFAULTS.optimizer, doc: 'Optimizer of both phases.' },
      momentum: { type: 'number', min: 0, below: 1, default: OPTIMIZER_DEFAULTS.momentum, doc: 'SGD or RMSprop momentum, both phases.' },
      weightDecay: WEIGHT_DECAY,
      frozenSchedule: { ...SCHEDULE, doc: `Frozen phase. ${SCHEDULE.doc}` },
      unfrozenSchedule: { ...SCHEDULE, doc: `Unfrozen phase. ${SCHEDULE.doc}` },
      batchNorm: { ...BATCH_NORM, doc: `${BATCH_NORM.doc} The unfrozen phase.` },
      ...CONTROLS,
      valSplit: { type: 'number', above: 0, max: 0.9, default: SWEEP_DEFAULTS.valSplit, doc: 'Fraction of the training set the choice is made on.' },
      seed: seedField(SWEEP_DEFAULTS.seed),
      perClass: PER_CLASS,
      batchSize: batchSize(SWEEP_DEFAULTS.batchSize),
      classWeight: { ...CLASS_WEIGHT, doc: `${CLASS_WEIGHT.doc} Every configuration.` },
    },
  },
  layers: {
    summary: 'Layer transferability: copy the first n layers, frozen or fine-tuned, vs scratch (Yosinski et al. 2014).',
    fields: {
      task: TASK,
      from: FROM,
      ...ONNX_SOURCE,
      ...COMMON_IO,
      epochs: epochsField(LAYERS_DEFAULTS.epochs, 'Epochs for every arm.'),
      seeds: seedsField(LAYERS_DEFAULTS.seeds),
      optimizer: optimizer(LAYERS_DEFAULTS.optimizer),
      schedule: SCHEDULE,
      perClass: PER_CLASS,
      valSplit: { ...VAL_SPLIT, doc: `${VAL_SPLIT.doc} Needed by keepBest and reduceOnPlateau.` },
      batchSize: batchSize(LAYERS_DEFAULTS.batchSize),
      classWeight: { ...CLASS_WEIGHT, doc: `${CLASS_WEIGHT.doc} Every arm.` },
      batchNorm: { ...BATCH_NORM, doc: `${BATCH_NORM.doc} Every arm.` },
      ...CONTROLS,
    },
  },
} as const satisfies Record<string, KindSpec>;

export type ExperimentKind = keyof typeof EXPERIMENT_SCHEMA;
export const EXPERIMENT_KINDS = Object.keys(EXPERIMENT_SCHEMA) as ExperimentKind[];

/** A validated experiment: paths absolute, every value in range. Absent fields take the documented defaults. */
export type Experiment = { [K in ExperimentKind]: Simplify<{ kind: K } & InferFields<(typeof EXPERIMENT_SCHEMA)[K]['fields']>> }[ExperimentKind];
export type ExperimentOf<K extends ExperimentKind> = Extract<Experiment, { kind: K }>;
