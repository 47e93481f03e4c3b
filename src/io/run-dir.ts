import * as path from 'node:path';
import { readFile, stat } from 'node:fs/promises';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { exists } from './exists.js';
import type { EpochRecord } from '../train/types.js';
import type { OptimizerSpec } from '../train/optimizer.js';
import type { Evaluation } from '../evaluate/evaluate.js';
import { writeDirAtomic } from './atomic.js';
import { assertRunFinished, findHalfFinishedRun } from './half-finished.js';
import { toTfjsFiles, loadTfjsModel } from './tfjs-format.js';
import { loadKerasModel } from './keras/load.js';
import { GRAFT_VERSION, TFJS_VERSION } from '../version.js';

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
  /** The frozen-base feature cache: where it split the model, images run through the base, seconds. */
  featureCache?: { layer: string; images: number; seconds: number };
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
  preprocessing: { pixelScale: number };
  seed: number;
  backend: string;
  architecture?: string;
  /** For a from-scratch baseline: the run directory (name) of the transfer it is the baseline of. */
  baselineFor?: string;
  source?: { path: string; task?: string };
  transfer?: { cut: string; reused: string[]; head: string[]; frozen: string[] };
  phases: PhaseRecord[];
  /** Test-set scores: after training, and for transfers also after the frozen phase. */
  metrics?: { test?: Evaluation; frozenTest?: Evaluation };
}

export const RUN_FILE = 'run.json';

/** Writes model.json, weights.bin, run.json and history.jsonl into `dir` in one atomic step. */
export async function saveRun(dir: string, model: tfl.LayersModel, info: RunInfo, options: { force?: boolean; extraFiles?: Record<string, string> } = {}): Promise<void> {
  const files = await toTfjsFiles(model, `graft ${GRAFT_VERSION}`);
  const history = info.phases.flatMap((p) => p.history).map((r) => JSON.stringify(r)).join('\n');
  // run.json last: it is the completion marker, so even the temp copy never has it before the rest.
  await writeDirAtomic(dir, { ...options.extraFiles, ...files, 'history.jsonl': history ? `${history}\n` : '', [RUN_FILE]: `${JSON.stringify(info, null, 2)}\n` }, { force: options.force ?? false });
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

/** Loads a model from a graft run directory, a TF.js model.json, or a Keras .h5/.keras file. */
export async function loadModel(location: string): Promise<LoadedModel> {
  // A run a kill or a full disk left unfinished gets one clear error, not a parse failure.
  await assertRunFinished(location);
  let st;
  try {
    st = await stat(location);
  } catch {
    throw new GraftError('MODEL_NOT_FOUND', `No model at ${location}. Pass a graft run directory (from \`graft train\`/\`graft transfer\`), a TF.js model.json, or a Keras .h5/.keras file.`);
  }
  if (st.isDirectory()) {
    const modelJson = path.join(location, 'model.json');
    const runJson = path.join(location, RUN_FILE);
    const hasRun = await exists(runJson);
    if (!(await exists(modelJson))) {
      throw new GraftError('MODEL_NOT_FOUND', `${location} is a folder without model.json${hasRun ? ' (run.json is there: the run did not finish saving)' : ''}. Pass a graft run directory or a TF.js model folder.`);
    }
    const model = await loadTfjsModel(modelJson);
    if (!hasRun) return { model, path: modelJson, format: 'tfjs-layers' };
    return { model, run: await readRunInfo(runJson), path: modelJson, format: 'graft-run' };
  }
  const ext = path.extname(location).toLowerCase();
  if (ext === '.h5' || ext === '.hdf5' || ext === '.keras') {
    const k = await loadKerasModel(location);
    return { model: k.model, path: location, format: k.format, kerasVersion: k.kerasVersion };
  }
  if (ext !== '.json') {
    throw new GraftError('BAD_ARGUMENT', `${location}: unrecognised model file (extension ${ext || 'none'}). graft reads run directories, TF.js model.json files, Keras .h5 and .keras files.`);
  }
  const sibling = path.join(path.dirname(location), RUN_FILE);
  const model = await loadTfjsModel(location);
  if (path.basename(location) === 'model.json' && (await exists(sibling))) return { model, run: await readRunInfo(sibling), path: location, format: 'graft-run' };
  return { model, path: location, format: 'tfjs-layers' };
}

export async function readRunInfo(file: string): Promise<RunInfo> {
  let info: unknown;
  try {
    info = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new GraftError('MODEL_CORRUPT', `${file} is not valid JSON (${(e as Error).message}). The run directory is damaged; re-run the training.`);
  }
  const r = info as Partial<RunInfo>;
  if (typeof r !== 'object' || r === null || !Array.isArray(r.classNames) || typeof r.task !== 'string' || !Array.isArray(r.sampleShape) || typeof r.preprocessing?.pixelScale !== 'number') {
    throw new GraftError('MODEL_CORRUPT', `${file} lacks the fields graft needs (task, classNames, sampleShape, preprocessing). It was not written by this version of graft, or it is damaged.`);
  }
  return r as RunInfo;
}


/** Fails before any training when `dir` exists and would be refused at save time. */
export async function assertRunDirFree(dir: string, force: boolean): Promise<void> {
  if (force) return;
  const half = await findHalfFinishedRun(dir);
  if (half?.writer !== undefined) {
    throw new GraftError('OUTPUT_EXISTS', `Output ${dir} is being written by graft process ${half.writer} right now. Choose another --out, or wait for it to finish.`);
  }
  if (half) {
    throw new GraftError('OUTPUT_EXISTS', `Half-finished run at ${dir} (${half.problem}); rerun with --force to replace it, or choose another --out.${half.alternative ? ` ${half.alternative}` : ''}`);
  }
  if (await exists(dir)) {
    throw new GraftError('OUTPUT_EXISTS', `Output ${dir} already exists; graft does not overwrite runs. Pass --force to replace it, or choose another --out.`);
  }
}
