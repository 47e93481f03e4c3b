import { BACKEND_CHOICES, initBackend, type BackendChoice, type BackendInfo } from '../engine/backend.js';
import { GraftError } from '../errors.js';
import { ENGINE_CHOICES, setDefaultEngine, type EngineChoice } from '../engine/engine-choice.js';
import { noticeSlowEngine } from './engine-notice.js';
import type { OptionDef } from './command.js';
import { numberOption } from './command.js';
import type { DataOptions } from '../workflows/prepare.js';
import { RESIZE_MODES, type ResizeMode } from '../data/image-convert.js';
import { OPTIMIZER_NAMES, type OptimizerName, type OptimizerSpec } from '../train/optimizer.js';
import { resolveSchedule, SCHEDULE_FORMS } from '../train/schedule.js';
import type { TrainCallbacks } from '../train/types.js';
import { combineCallbacks, jsonlLogger } from '../train/jsonl-log.js';
import { progressCallbacks } from './progress.js';
import { printErr, terminalJson } from './terminal-text.js';
import { stepThreadWanted } from '../platform/step-thread.js';

/** Options every training command shares; each command spreads the groups it needs. */
export const BACKEND_OPTION = {
  backend: { type: 'string', value: 'NAME', default: 'auto', description: `Compute backend: ${BACKEND_CHOICES.join(', ')} (auto: tfjs-node if installed, else wasm, else cpu)` },
} as const satisfies Record<string, OptionDef>;

/** For commands that train. */
export const ENGINE_OPTION = {
  engine: {
    type: 'string',
    value: 'NAME',
    default: 'auto',
    description: `Training engine: ${ENGINE_CHOICES.join(', ')} (auto: onnxruntime for models of the layers it knows — Dense, convolutions, BatchNorm, pooling, residual Adds — when onnxruntime-node is installed, else TF.js)`,
  },
} as const satisfies Record<string, OptionDef>;

/** The engine of a command that trains (set by useEngine): startBackend then says if it will be slow. */
let trainingEngine: EngineChoice | undefined;

/** Validates --engine (and GRAFT_STEP_THREAD) and makes the engine the default of every fit in this process. */
export function useEngine(choice: string): void {
  if (!(ENGINE_CHOICES as readonly string[]).includes(choice)) {
    throw new GraftError('BAD_ARGUMENT', `--engine received ${JSON.stringify(choice)}; choose one of ${ENGINE_CHOICES.join(', ')}.`);
  }
  // Read now, so that a bad value stops the command before it writes anything.
  stepThreadWanted();
  setDefaultEngine(choice as EngineChoice);
  trainingEngine = choice as EngineChoice;
  // Worker threads (graft compare --workers) start with a copy of the environment, not this module's state.
  process.env.GRAFT_ENGINE = choice;
}

/** --resize, for folder:/csv: tasks (built-in datasets are square, so every mode fits them alike). */
export const RESIZE_OPTION = {
  resize: { type: 'string', value: 'HOW', description: `How folder:/csv: images are fitted to the model's input: ${RESIZE_MODES.join(', ')} (default crop: the largest centred crop of the input's aspect ratio, as Keras's smart_resize; squash stretches; pad letterboxes with black)` },
} as const satisfies Record<string, OptionDef>;

export function resizeOption(text: string | undefined): ResizeMode | undefined {
  if (text === undefined) return undefined;
  if ((RESIZE_MODES as readonly string[]).includes(text)) return text as ResizeMode;
  throw new GraftError('BAD_ARGUMENT', `--resize received ${JSON.stringify(text)}; choose one of ${RESIZE_MODES.join(', ')} (crop keeps the aspect ratio by cutting the edges, pad by adding black bars, squash stretches).`);
}

export const DATA_OPTIONS = {
  ...RESIZE_OPTION,
  'data-dir': { type: 'string', value: 'DIR', description: 'Folder with the dataset files (else GRAFT_DATA_DIR, the cache, Debian\'s package, or a download)' },
  'per-class': { type: 'string', value: 'N', description: 'Keep N training images per class (seeded)' },
  'val-split': { type: 'string', value: 'F', description: 'Hold out this fraction of the training set for validation' },
  offline: { type: 'boolean', description: 'Never download data' },
  seed: { type: 'string', value: 'N', default: '0', description: 'Seed for weights, shuffling, dropout and subsampling' },
} as const satisfies Record<string, OptionDef>;

export const OUTPUT_OPTIONS = {
  json: { type: 'boolean', description: 'Print one JSON object on stdout and no progress' },
  force: { type: 'boolean', description: 'Replace an existing output directory that graft wrote (never anything else)' },
} as const satisfies Record<string, OptionDef>;

export const FIT_OPTIONS = {
  'batch-size': { type: 'string', value: 'N', default: '32', description: 'Samples per gradient step' },
  'early-stopping': { type: 'string', value: 'PATIENCE', description: 'Stop when validation loss (or --monitor\'s metric) has not improved for PATIENCE epochs (needs --val-split)' },
  log: { type: 'string', value: 'FILE', description: 'Append each epoch as a JSON line to FILE while training' },
} as const satisfies Record<string, OptionDef>;

export async function startBackend(choice: string, quiet: boolean): Promise<BackendInfo> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new GraftError('BAD_ARGUMENT', `--backend received ${JSON.stringify(choice)}; choose one of ${BACKEND_CHOICES.join(', ')}.`);
  }
  const info = await initBackend(choice as BackendChoice);
  if (!quiet) printErr(`graft: backend ${info.description}\n`);
  // Even with --json: the note goes to stderr, and a silent fall-back to TF.js is what it prevents.
  if (trainingEngine) await noticeSlowEngine(trainingEngine);
  return info;
}

type DataValues = { 'data-dir'?: string | undefined; 'per-class'?: string | undefined; 'val-split'?: string | undefined; offline?: boolean; seed: string; resize?: string | undefined };

export function dataOptions(v: DataValues, quiet: boolean): DataOptions {
  const o: DataOptions = { seed: numberOption('seed', v.seed, { integer: true, min: 0, max: 2 ** 31 - 1 })! };
  if (v['data-dir'] !== undefined) o.dataDir = v['data-dir'];
  const perClass = numberOption('per-class', v['per-class'], { integer: true, min: 1 });
  if (perClass !== undefined) o.perClass = perClass;
  const valSplit = numberOption('val-split', v['val-split'], { min: 0, max: 0.9 });
  if (valSplit !== undefined) o.valSplit = valSplit;
  if (v.offline) o.download = false;
  const resize = resizeOption(v.resize);
  if (resize !== undefined) o.resize = resize;
  // Split sizes, class imbalance and skipped files go to stderr even with --json: stdout stays one object.
  o.onNote = (line) => printErr(`graft: ${line}\n`);
  if (!quiet) o.onDownloadProgress = downloadProgress();
  return o;
}

function downloadProgress(): (received: number, total: number | undefined) => void {
  let last = 0;
  return (received, total) => {
    const now = Date.now();
    if (now - last < 200 && received !== total) return;
    last = now;
    const mb = (received / 1e6).toFixed(1);
    const line = total ? `downloading ${mb}/${(total / 1e6).toFixed(1)} MB (${Math.round((100 * received) / total)}%)` : `downloading ${mb} MB`;
    process.stderr.write(process.stderr.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
    if (process.stderr.isTTY && received === total) process.stderr.write('\n');
  };
}

export function optimizerOption(name: string | undefined, lr: string | undefined, momentum: string | undefined, prefix = '', weightDecay?: string): OptimizerSpec | undefined {
  const spec: OptimizerSpec = {};
  if (name !== undefined) {
    if (!OPTIMIZER_NAMES.includes(name as OptimizerName)) throw new GraftError('BAD_ARGUMENT', `--${prefix}optimizer received ${JSON.stringify(name)}; choose ${OPTIMIZER_NAMES.join(', ')}.`);
    spec.name = name as OptimizerName;
  }
  const wd = numberOption('weight-decay', weightDecay, { min: 0, max: 0.999999 });
  if (wd !== undefined) spec.weightDecay = wd;
  const l = numberOption(`${prefix}lr`, lr, { above: 0 });
  if (l !== undefined) spec.learningRate = l;
  const m = numberOption(`${prefix}momentum`, momentum, { min: 0, max: 0.999999 });
  if (m !== undefined) spec.momentum = m;
  return Object.keys(spec).length > 0 ? spec : undefined;
}

/** --schedule / --frozen-schedule: checked now (the phase's length is checked when it starts). */
export function scheduleOption(flag: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    resolveSchedule(text);
  } catch (e) {
    if (e instanceof GraftError) throw new GraftError('BAD_ARGUMENT', `--${flag}: ${e.message}`);
    throw e;
  }
  return text;
}

/** The --schedule help text. */
export const SCHEDULE_HELP = `Learning-rate schedule: ${SCHEDULE_FORMS}. step and cosine change per epoch, one-cycle and warm-up per step (PyTorch's StepLR, CosineAnnealingLR, OneCycleLR, LinearLR). Default constant`;

/** Past this a batch size is a typo, not a choice (fit clamps anything above the sample count anyway). */
export const MAX_BATCH_SIZE = 2 ** 31;

/** --batch-size: a whole number from 1 to MAX_BATCH_SIZE; fit uses at most the number of training samples. */
export function batchSizeOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 1 || n > MAX_BATCH_SIZE) {
    throw new GraftError('BAD_ARGUMENT', `--batch-size needs a whole number from 1 to ${MAX_BATCH_SIZE} (samples per step; more than the training set uses the whole set); received ${JSON.stringify(text)}. Try 32.`);
  }
  return n;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${terminalJson(value)}\n`);
}

/** Progress on stderr (unless --json) plus the --log JSONL file when given. */
export function trainingCallbacks(label: string, v: { json: boolean; log?: string | undefined; resume?: string | undefined }): TrainCallbacks {
  // A resumed run (--resume) continues the log its first part wrote.
  return combineCallbacks(progressCallbacks({ label, silent: v.json }), v.log !== undefined ? jsonlLogger(v.log) : undefined);
}
