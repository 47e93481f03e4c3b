import type { RecipeRecord } from '../transfer/recipes.js';
import type { EngineUse } from '../train/stepper.js';
import * as path from 'node:path';
import { stat } from 'node:fs/promises';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError, describeValue } from '../errors.js';
import { parseJson } from './keras/archive.js';
import { exists } from './exists.js';
import { READ_LIMITS, readRegularFile, symlinkLoop } from './regular-file.js';
import type { EpochRecord } from '../train/types.js';
import type { ControlsRecord } from '../train/callbacks/controls.js';
import type { OptimizerSpec } from '../train/optimizer.js';
import type { Evaluation } from '../evaluate/evaluate.js';
import { assertRunFinished, findHalfFinishedRun } from './half-finished.js';
import { claimOutputFolder, writeOutputDir } from './output-claim.js';
import { checkStorage } from './storage-check.js';
import { readConsistently, sha256Hex, type ConsistentRead, type ReadRecorder } from './run-consistency.js';
import { toTfjsFiles, loadTfjsModel } from './tfjs-format.js';
import { loadKerasModel } from './keras/load.js';
import { GRAFT_VERSION, TFJS_VERSION } from '../version.js';
import { RESIZE_MODES, type ResizeMode } from '../data/image-convert.js';
import type { DataSummary } from '../data/data-summary.js';

export interface PhaseRecord {
  name: string;
  epochs: number;
  optimizer: Required<OptimizerSpec>;
  trainableLayers: string[];
  stopReason: string;
  message?: string;
  seconds: number;
  history: EpochRecord[];
  /** Discriminative rates: learning rate per trainable layer. */
  learningRates?: Record<string, number>;
  /** Gradual unfreezing: layers made trainable before each epoch. */
  unfreezeSchedule?: string[][];
  /** The learning-rate schedule (train/schedule.ts text form), when not constant; each epoch's rate is in history. */
  schedule?: string;
  /** The frozen-base feature cache: where it split the model, images run through the base, seconds, and the engine that ran it (why TF.js, if so). */
  featureCache?: { layer: string; images: number; seconds: number; engine?: 'onnxruntime' | 'tfjs'; engineReason?: string };
  /** Which engine ran the training steps (onnxruntime or TF.js, with the reason for TF.js under auto). */
  engine?: EngineUse;
  /** --class-weight as given ("balanced" or "class=weight,…"), and the loss weight each class got in this phase. */
  classWeight?: string;
  classWeights?: Record<string, number>;
  /** Label smoothing, keep-best and reduce-on-plateau as set (train/callbacks/controls.ts). */
  controls?: ControlsRecord;
  /** With keep-best: the epoch whose weights the phase ended with, by which metric, and its value then. */
  keptBest?: { epoch: number; monitor: string; value: number };
  /** The phase's BatchNorm mode (--bn), as given and as it ran (train/batchnorm-mode.ts). */
  batchNorm?: { mode: string; ran: 'train' | 'frozen' };
}

/** Everything needed to reuse, score or reproduce a trained model; saved as run.json. */
export interface RunInfo {
  graftVersion: string;
  tfjsVersion: string;
  createdAt: string;
  kind: 'train' | 'transfer' | 'scratch';
  /** Canonical task spec, e.g. "fashion-mnist:binary=tshirt-top,sandal". */
  task: string;
  classNames: string[];
  /** Shape of one input sample as the data comes (before any reshape to the model's input). */
  sampleShape: number[];
  /** How raw pixels become model input; graft applies it exactly once. */
  preprocessing: {
    pixelScale: number;
    /** How images of another size or aspect ratio were fitted to the input; absent means 'squash' (older runs). */
    resize?: ResizeMode;
  };
  seed: number;
  backend: string;
  architecture?: string;
  /** For a from-scratch baseline: the run directory (name) of the transfer it is the baseline of. */
  baselineFor?: string;
  source?: { path: string; task?: string; onnx?: OnnxSourceRecord };
  transfer?: { cut: string; reused: string[]; head: string[]; frozen: string[] };
  phases: PhaseRecord[];
  /** For folder: and csv: tasks: the split, class counts and skipped files. */
  data?: DataSummary;
  /** Test-set scores: after training, and for transfers also after the frozen phase. */
  metrics?: { test?: Evaluation; frozenTest?: Evaluation };
  /** For a transfer run with a recipe: its name, each resolved setting, and whether an option or the recipe gave it. */
  recipe?: RecipeRecord;
  /**
   * SHA-256 of the other files of this save (model.json, weights.bin, examples.json): readers check
   * that what they read belongs to this run.json, never a mix of two saves racing a --force replace.
   */
  files?: Record<string, string>;
}

/** How an ONNX source was imported (transfer --from model.onnx or hf:…): what a rerun needs to repeat it. */
export interface OnnxSourceRecord {
  /** The file read (for hf: sources, the cached download). */
  file: string;
  producer: string;
  opset: number;
  layout: 'nchw' | 'nhwc';
  /** The preprocessing as given (`imagenet`, `mean=…,std=…`) and in words. */
  preprocess: string;
  preprocessing: string;
  cut: string;
  featureShape: number[];
  blocks: string[];
  batchNormNodes: number;
  hub?: { spec: string; repo: string; revision: string; commit?: string; sha256?: string };
}

export const RUN_FILE = 'run.json';

/** Writes model.json, weights.bin, run.json and history.jsonl into `dir` in one atomic step. */
export async function saveRun(dir: string, model: tfl.LayersModel, info: RunInfo, options: { force?: boolean; extraFiles?: Record<string, string> } = {}): Promise<void> {
  const files: Record<string, string | Uint8Array> = { ...options.extraFiles, ...(await toTfjsFiles(model, `graft ${GRAFT_VERSION}`)) };
  const history = info.phases.flatMap((p) => p.history).map((r) => JSON.stringify(r)).join('\n');
  const hashes = Object.fromEntries(Object.entries(files).map(([name, data]) => [name, sha256Hex(data)]));
  // run.json last: it is the completion marker, so even the temp copy never has it before the rest.
  await writeOutputDir(dir, 'run', { ...files, 'history.jsonl': history ? `${history}\n` : '', [RUN_FILE]: `${JSON.stringify({ ...info, files: hashes }, null, 2)}\n` }, { force: options.force ?? false });
}

export interface LoadedModel {
  model: tfl.LayersModel;
  /** Present when the model came from a graft run directory. */
  run?: RunInfo;
  /** The path as resolved: the model.json or file actually read. */
  path: string;
  format: 'graft-run' | 'tfjs-layers' | 'keras-h5' | 'keras-v3';
  /** For Keras files: the Keras version that wrote it. */
  kerasVersion?: string;
}

/**
 * Loads a model from a graft run directory, a TF.js model.json, or a Keras .h5/.keras file. A run
 * being replaced by a --force save meanwhile is read as one save or not at all (readConsistently).
 */
export function loadModel(location: string): Promise<LoadedModel> {
  const folder = path.basename(location) === 'model.json' ? path.dirname(location) : location;
  return readConsistently(folder, (record) => loadOnce(location, record));
}

async function loadOnce(location: string, record: ReadRecorder): Promise<ConsistentRead<LoadedModel>> {
  // A run a kill or a full disk left unfinished gets one clear error, not a parse failure.
  await assertRunFinished(location);
  let st;
  try {
    st = await stat(location);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw symlinkLoop(location, 'MODEL_NOT_FOUND', 'a run directory, a TF.js model.json or a Keras .h5/.keras file');
    throw new GraftError('MODEL_NOT_FOUND', `No model at ${location}. Pass a graft run directory (from \`graft train\`/\`graft transfer\`), a TF.js model.json, or a Keras .h5/.keras file.`);
  }
  const plain = (loaded: LoadedModel): ConsistentRead<LoadedModel> => ({ value: loaded, dispose: () => loaded.model.dispose() });
  if (st.isDirectory()) {
    const modelJson = path.join(location, 'model.json');
    const runJson = path.join(location, RUN_FILE);
    const hasRun = await exists(runJson);
    if (!(await exists(modelJson))) {
      throw new GraftError('MODEL_NOT_FOUND', `${location} is a folder without model.json${hasRun ? ' (run.json is there: the run did not finish saving)' : ''}. Pass a graft run directory or a TF.js model folder.`);
    }
    if (!hasRun) return plain({ model: await loadTfjsModel(modelJson), path: modelJson, format: 'tfjs-layers' });
    return runModel(location, modelJson, record);
  }
  const ext = path.extname(location).toLowerCase();
  if (ext === '.h5' || ext === '.hdf5' || ext === '.keras') {
    const k = await loadKerasModel(location);
    return plain({ model: k.model, path: location, format: k.format, ...(k.kerasVersion !== undefined && { kerasVersion: k.kerasVersion }) });
  }
  if (ext === '.onnx') {
    throw new GraftError('BAD_ARGUMENT', `${location} is an ONNX model: graft imports ONNX models as transfer sources only, with \`graft transfer|compare|layers --from ${location} --preprocess HOW\` (ONNX files do not record their preprocessing). Here, pass a graft run directory, a TF.js model.json, or a Keras .h5/.keras file.`);
  }
  if (ext !== '.json') {
    throw new GraftError('BAD_ARGUMENT', `${location}: unrecognised model file (extension ${ext || 'none'}). graft reads run directories, TF.js model.json files, Keras .h5 and .keras files.`);
  }
  const sibling = path.join(path.dirname(location), RUN_FILE);
  if (path.basename(location) === 'model.json' && (await exists(sibling))) return runModel(path.dirname(location), location, record);
  return plain({ model: await loadTfjsModel(location), path: location, format: 'tfjs-layers' });
}

/** A run folder's model with its run.json; run.json is read first and names the hashes the rest must have. */
async function runModel(dir: string, modelJson: string, record: ReadRecorder): Promise<ConsistentRead<LoadedModel>> {
  const run = await readRunInfo(path.join(dir, RUN_FILE));
  const model = await loadTfjsModel(modelJson, { onRead: record });
  return { value: { model, run, path: modelJson, format: 'graft-run' }, expected: run.files, dispose: () => model.dispose() };
}

/**
 * Reads run.json and checks every field graft's readers use (predict, transfer --from, the report),
 * so a damaged file is refused here, naming the field, rather than met later as a TypeError deep in
 * the report. Fields it does not know are kept, for runs written by newer versions.
 */
export async function readRunInfo(file: string): Promise<RunInfo> {
  const fix = 'The run directory is damaged; re-run the training.';
  let json: string;
  try {
    json = (await readRegularFile(file, { maxBytes: READ_LIMITS.json, expected: 'the run.json graft wrote', code: 'MODEL_CORRUPT', fix })).toString('utf8');
  } catch (e) {
    if (e instanceof GraftError) throw e;
    throw new GraftError('MODEL_CORRUPT', `${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). ${fix}`);
  }
  // run.json is a few levels deep; the limit keeps a crafted one from exhausting the stack later.
  const info = parseJson(json, file, { maxDepth: 32, fix });
  const problem = runInfoProblem(info);
  if (problem) {
    throw new GraftError('MODEL_CORRUPT', `${file}: ${problem.at} should be ${problem.expected}; received ${describeValue(problem.value)}. It was not written by this version of graft, or it is damaged; re-run the training.`);
  }
  return info as RunInfo;
}

type Problem = { at: string; expected: string; value: unknown } | undefined;
type Check = (v: unknown, at: string) => Problem;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const expect = (ok: (v: unknown) => boolean, expected: string): Check => (v, at) => (ok(v) ? undefined : { at, expected, value: v });
const text = expect((v) => typeof v === 'string', 'text');
const count = expect((v) => Number.isSafeInteger(v) && (v as number) >= 0, 'a whole number ≥ 0');
const number = expect((v) => typeof v === 'number', 'a number');
/** Scores and times: JSON writes NaN (a diverged loss) as null. */
const score = expect((v) => typeof v === 'number' || v === null, 'a number (or null)');
const listOf = (item: Check): Check => (v, at) => (Array.isArray(v) ? v.reduce<Problem>((p, x, i) => p ?? item(x, `${at}[${i}]`), undefined) : { at, expected: 'a list', value: v });
/** An object with these fields; a field whose name ends in "?" may be absent. */
const shape = (fields: Record<string, Check>): Check => (v, at) => {
  if (!isRecord(v)) return { at, expected: 'an object', value: v };
  for (const [key, check] of Object.entries(fields)) {
    const name = key.replace(/\?$/, '');
    if (key.endsWith('?') && v[name] === undefined) continue;
    const p = check(v[name], `${at}.${name}`);
    if (p) return p;
  }
  return undefined;
};
const names = listOf(text);
const evaluation = shape({ accuracy: score, loss: score, confusion: listOf(listOf(count)), perClass: listOf(shape({ name: text, precision: score, recall: score, f1: score, support: count })), count });
const RUN_INFO = shape({
  graftVersion: text,
  tfjsVersion: text,
  createdAt: text,
  kind: expect((v) => v === 'train' || v === 'transfer' || v === 'scratch', '"train", "transfer" or "scratch"'),
  task: text,
  classNames: names,
  sampleShape: listOf(expect((v) => Number.isSafeInteger(v) && (v as number) >= 1, 'a whole number ≥ 1')),
  preprocessing: shape({
    pixelScale: expect((v) => typeof v === 'number' && v > 0 && Number.isFinite(v), 'a number > 0'),
    'resize?': expect((v) => (RESIZE_MODES as readonly unknown[]).includes(v), `one of ${RESIZE_MODES.map((m) => `"${m}"`).join(', ')}`),
  }),
  seed: number,
  backend: text,
  'architecture?': text,
  'baselineFor?': text,
  'source?': shape({ path: text, 'task?': text, 'onnx?': shape({ file: text, preprocess: text, cut: text, blocks: names }) }),
  'transfer?': shape({ cut: text, reused: names, head: names, frozen: names }),
  phases: listOf(
    shape({
      name: text,
      epochs: count,
      optimizer: shape({ name: text, learningRate: number, momentum: number }),
      trainableLayers: names,
      stopReason: text,
      'message?': text,
      seconds: score,
      history: listOf(shape({ phase: text, epoch: count, loss: score, accuracy: score, 'valLoss?': score, 'valAccuracy?': score, learningRate: score, seconds: score })),
    }),
  ),
  'data?': shape({ kind: text, path: text, sizes: shape({ train: count, test: count }), skippedCount: count, skipped: listOf(shape({ file: text, reason: text })) }),
  'metrics?': shape({ 'test?': evaluation, 'frozenTest?': evaluation }),
  'files?': expect((v) => isRecord(v) && Object.values(v).every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h)), 'file names with their SHA-256 in hex'),
});

/** The first field of run.json that graft could not use, or undefined. Scores must cover every class. */
function runInfoProblem(info: unknown): Problem {
  const p = RUN_INFO(info, 'run');
  if (p) return p;
  const r = info as RunInfo;
  const k = r.classNames.length;
  for (const [name, e] of Object.entries(r.metrics ?? {})) {
    if (!e) continue;
    if (e.confusion.length !== k || e.confusion.some((row) => row.length !== k)) return { at: `run.metrics.${name}.confusion`, expected: `a ${k}×${k} matrix (one row and column per class)`, value: e.confusion.map((row) => row.length) };
    if (e.perClass.length !== k) return { at: `run.metrics.${name}.perClass`, expected: `${k} entries (one per class)`, value: e.perClass.length };
  }
  return undefined;
}


/** Free space asked for before training when the model's size is not known yet. */
const MIN_FREE_BYTES = 64 * 1024 ** 2;

/**
 * Fails before any training when `dir` exists and would be refused at save time, when --force
 * would replace something graft did not write, or when the disk cannot take the save (`bytes`:
 * roughly what it needs).
 */
export async function assertRunDirFree(dir: string, force: boolean, options: { bytes?: number; configFile?: string } = {}): Promise<void> {
  await checkStorage(dir, Math.max(MIN_FREE_BYTES, options.bytes ?? 0));
  if (force) return claimOutputFolder(dir, { force, configFile: options.configFile });
  const half = await findHalfFinishedRun(dir);
  if (half?.writer !== undefined) {
    throw new GraftError('OUTPUT_EXISTS', `Output ${dir} is being written by graft process ${half.writer} right now. Choose another --out, or wait for it to finish.`);
  }
  if (half) {
    throw new GraftError('OUTPUT_EXISTS', `Half-finished run at ${dir} (${half.problem}); rerun with --force to replace it, or choose another --out.${half.alternative ? ` ${half.alternative}` : ''}`);
  }
  await claimOutputFolder(dir, { force: false });
}
