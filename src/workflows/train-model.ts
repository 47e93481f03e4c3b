import type * as tfl from '@tensorflow/tfjs-layers';
import { activeBackend } from '../engine/backend.js';
import { buildArchitecture } from '../models/architectures.js';
import { fit } from '../train/fit.js';
import { resolveOptimizer, type OptimizerSpec } from '../train/optimizer.js';
import type { TrainCallbacks } from '../train/types.js';
import type { EarlyStoppingOptions } from '../train/early-stopping.js';
import { evaluate, type Evaluation } from '../evaluate/evaluate.js';
import { assertRunDirFree, saveRun, type PhaseRecord, type RunInfo } from '../io/run-dir.js';
import { GRAFT_VERSION, TFJS_VERSION } from '../version.js';
import { examplesFile } from './examples.js';
import { prepareTask, type DataOptions, type PreparedData } from './prepare.js';

export interface TrainModelOptions extends DataOptions {
  /** Task spec, e.g. "fashion-mnist:exclude=sandal,shirt". */
  task: string;
  /** 'mlp' (the write-up's Model A) or 'cnn'. Default 'mlp'. */
  architecture?: string;
  /** Default 10 (the write-up's Model A). */
  epochs?: number;
  batchSize?: number;
  /** Default sgd, learning rate 0.01. */
  optimizer?: OptimizerSpec;
  earlyStopping?: EarlyStoppingOptions | false;
  callbacks?: TrainCallbacks;
  /** Save the run here (model.json, weights.bin, run.json, history.jsonl). */
  out?: string;
  /** Replace an existing run directory at `out`. Default false. */
  force?: boolean;
  /** Already-prepared data (skips loading; the seed workflow shares one load). */
  data?: PreparedData;
  /** Recorded as the run kind. Default 'train'. */
  kind?: 'train' | 'scratch';
}

export const TRAIN_DEFAULTS = { architecture: 'mlp', epochs: 10, seed: 0 } as const;

export interface TrainedModel {
  model: tfl.LayersModel;
  run: RunInfo;
  test: Evaluation;
  seconds: number;
}

/** Builds an architecture for the task, trains it from scratch and scores it on the test set. */
export async function trainModel(options: TrainModelOptions): Promise<TrainedModel> {
  const seed = options.seed ?? TRAIN_DEFAULTS.seed;
  if (options.out) await assertRunDirFree(options.out, options.force ?? false);
  const data = options.data ?? (await prepareTask(options.task, { ...options, seed }));
  const architecture = options.architecture ?? TRAIN_DEFAULTS.architecture;
  const model = buildArchitecture(architecture, { classes: data.train.classNames.length, inputShape: data.train.sampleShape, seed });
  const optimizer = resolveOptimizer(options.optimizer);
  const epochs = options.epochs ?? TRAIN_DEFAULTS.epochs;
  const started = performance.now();
  const result = await fit(model, data.train, {
    epochs,
    optimizer,
    seed,
    phase: 'train',
    ...(options.batchSize !== undefined && { batchSize: options.batchSize }),
    ...(data.validation && { validation: data.validation }),
    ...(options.earlyStopping !== undefined && { earlyStopping: options.earlyStopping }),
    ...(options.callbacks && { callbacks: options.callbacks }),
  });
  const seconds = (performance.now() - started) / 1000;
  const test = evaluate(model, data.test);
  const phase: PhaseRecord = {
    name: 'train',
    epochs,
    optimizer,
    trainableLayers: model.layers.filter((l) => l.trainableWeights.length > 0).map((l) => l.name),
    stopReason: result.stopReason,
    seconds,
    history: result.history,
  };
  if (result.message) phase.message = result.message;
  const run: RunInfo = {
    ...runHeader(data, seed),
    kind: options.kind ?? 'train',
    architecture,
    phases: [phase],
    metrics: { test },
  };
  if (options.out) await saveRun(options.out, model, run, { force: options.force ?? false, extraFiles: examplesFile(model, data.test) });
  return { model, run, test, seconds };
}

/** The fields every run.json starts with. */
export function runHeader(data: PreparedData, seed: number): Pick<RunInfo, 'graftVersion' | 'tfjsVersion' | 'createdAt' | 'task' | 'classNames' | 'sampleShape' | 'preprocessing' | 'seed' | 'backend'> {
  return {
    graftVersion: GRAFT_VERSION,
    tfjsVersion: TFJS_VERSION,
    createdAt: new Date().toISOString(),
    task: data.task,
    classNames: [...data.train.classNames],
    sampleShape: [...data.train.sampleShape],
    preprocessing: { pixelScale: 1 / 255 },
    seed,
    backend: activeBackend()?.name ?? 'unknown',
  };
}
