import type * as tfl from '@tensorflow/tfjs-layers';
import { activeBackend } from '../engine/backend.js';
import { buildArchitecture } from '../models/architectures.js';
import { fit } from '../train/fit.js';
import { resolveOptimizer, type OptimizerSpec } from '../train/optimizer.js';
import { describeSchedule, resolveSchedule, type ScheduleOption } from '../train/schedule.js';
import { resolveBatchNorm, type BatchNormMode } from '../train/batchnorm-mode.js';
import type { TrainCallbacks } from '../train/types.js';
import type { EarlyStoppingOptions } from '../train/early-stopping.js';
import { formatClassWeight, type ClassWeight } from '../train/class-weight.js';
import { pickControls, withControls, type TrainingControls } from '../train/callbacks/controls.js';
import { evaluateOn, type Evaluation } from '../evaluate/evaluate.js';
import { assertRunDirFree, saveRun, type PhaseRecord, type RunInfo } from '../io/run-dir.js';
import { hasCheckpoint } from '../io/checkpoint-dir.js';
import { disposeModel } from '../models/dispose.js';
import { canonicalTaskText } from '../data/task-text.js';
import { FIT_DEFAULTS } from '../train/fit.js';
import { EARLY_STOPPING_DEFAULTS } from '../train/early-stopping.js';
import { assertResumes, checkpointHeader, interrupted, abortReason, TrainingInterrupted, type Invocation, type RunCheckpoint } from './checkpoint.js';
import { GRAFT_VERSION, TFJS_VERSION } from '../version.js';
import { examplesFile } from './examples.js';
import { stoppedByGuard, TrainingDiverged } from './diverged.js';
import { prepareTask, type DataOptions, type PreparedData } from './prepare.js';

export interface TrainModelOptions extends DataOptions, TrainingControls {
  /** Task spec, e.g. "fashion-mnist:exclude=sandal,shirt". */
  task: string;
  /** 'mlp' (the write-up's Model A) or 'cnn'. Default 'mlp'. */
  architecture?: string;
  /** Default 10 (the write-up's Model A). */
  epochs?: number;
  batchSize?: number;
  /** Default sgd, learning rate 0.01. */
  optimizer?: OptimizerSpec;
  /** Learning-rate schedule (train/schedule.ts), e.g. 'cosine,warmup:1'. Default constant. */
  schedule?: ScheduleOption;
  /** How BatchNorm layers run while they train (FitOptions.batchNorm): 'train', 'frozen' or 'auto'. Default 'auto'. */
  batchNorm?: BatchNormMode;
  earlyStopping?: EarlyStoppingOptions | false;
  /** Loss weight per class ('balanced' or class → weight), as Keras's class_weight; see FitOptions.classWeight. Default none. */
  classWeight?: ClassWeight;
  callbacks?: TrainCallbacks;
  /** Save the run here (model.json, weights.bin, run.json, history.jsonl). */
  out?: string;
  /** Replace an existing run directory at `out`. Default false. */
  force?: boolean;
  /** Already-prepared data (skips loading; the seed workflow shares one load). */
  data?: PreparedData;
  /** Recorded as the run kind. Default 'train'. */
  kind?: 'train' | 'scratch';
  /** For kind 'scratch': the name of the transfer run directory this is the baseline of (the report pairs them). */
  baselineFor?: string;
  /** Train this model (as it is) instead of building `architecture`: e.g. a transferred model's architecture, re-initialised, as a from-scratch baseline. */
  model?: tfl.LayersModel;
  /**
   * Stops training before the next batch once aborted: the exact state is saved as a checkpoint in
   * `out` (when given) and TrainingInterrupted is thrown. Default: runs to the end.
   */
  signal?: AbortSignal;
  /**
   * Continue an interrupted run (readRunCheckpoint(out)) with the same options; the finished run then
   * replaces the checkpoint in `out` and equals an uninterrupted run's (weights bit for bit on the same backend).
   */
  resumeFrom?: RunCheckpoint;
  /** Kept in a checkpoint so that `graft train --resume` needs no options repeated (set by the CLI). */
  invocation?: Invocation;
}

export const TRAIN_DEFAULTS = { architecture: 'mlp', epochs: 10, seed: 0 } as const;

export interface TrainedModel {
  model: tfl.LayersModel;
  run: RunInfo;
  test: Evaluation;
  /** Seconds of training; scoring the test set is not counted. */
  seconds: number;
  /** Seconds spent scoring the test set, apart from `seconds`. */
  evaluationSeconds: number;
}

/** Builds an architecture for the task, trains it from scratch and scores it on the test set. */
export async function trainModel(options: TrainModelOptions): Promise<TrainedModel> {
  const seed = options.seed ?? TRAIN_DEFAULTS.seed;
  const resume = options.resumeFrom;
  const decisive = trainOptionsRecord(options, seed);
  if (resume) assertResumes(resume, 'train', decisive, options.callbacks);
  // A resumed run owns its folder: the finished run replaces the checkpoint there.
  const inPlace = resume !== undefined && options.out !== undefined && (await hasCheckpoint(options.out));
  const force = (options.force ?? false) || inPlace;
  if (options.out) await assertRunDirFree(options.out, force);
  const data = options.data ?? (await prepareTask(options.task, { ...options, seed }));
  const architecture = options.model ? options.model.name : (options.architecture ?? TRAIN_DEFAULTS.architecture);
  const model = options.model ?? buildArchitecture(architecture, { classes: data.train.classNames.length, inputShape: data.train.sampleShape, seed });
  const optimizer = resolveOptimizer(options.optimizer);
  const epochs = options.epochs ?? TRAIN_DEFAULTS.epochs;
  const signal = options.signal;
  if (signal?.aborted && !resume) {
    if (!options.model) disposeModel(model);
    throw new TrainingInterrupted(abortReason(signal), undefined, undefined);
  }
  const started = performance.now();
  const result = await fit(model, data.train, {
    epochs,
    optimizer,
    seed,
    phase: 'train',
    ...(options.schedule !== undefined && { schedule: options.schedule }),
    ...(options.batchNorm !== undefined && { batchNorm: options.batchNorm }),
    ...(options.batchSize !== undefined && { batchSize: options.batchSize }),
    ...(data.validation && { validation: data.validation }),
    ...(options.earlyStopping !== undefined && { earlyStopping: options.earlyStopping }),
    ...(options.classWeight !== undefined && { classWeight: options.classWeight }),
    ...pickControls(options),
    ...(options.callbacks && { callbacks: options.callbacks }),
    ...(signal && { signal }),
    ...(resume?.command === 'train' && { resumeFrom: resume.fit }),
  });
  const seconds = (performance.now() - started) / 1000 + (resume?.seconds ?? 0);
  if (result.stopReason === 'interrupted') {
    const fitState = result.checkpoint!;
    const checkpoint: RunCheckpoint = {
      command: 'train',
      header: checkpointHeader('train', fitState, signal),
      options: decisive,
      backend: activeBackend()?.name ?? 'unknown',
      seconds,
      fit: fitState,
      ...(options.invocation && { invocation: options.invocation }),
    };
    if (!options.model) disposeModel(model);
    throw await interrupted(checkpoint, options.out, force);
  }
  if (stoppedByGuard(result.stopReason)) {
    if (!options.model) disposeModel(model);
    throw new TrainingDiverged('train', { ...result, stopReason: result.stopReason }, result.history, options.out);
  }
  const scoring = performance.now();
  const test = (await evaluateOn(model, data.test)).evaluation;
  const evaluationSeconds = (performance.now() - scoring) / 1000;
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
  if (result.engine) phase.engine = result.engine;
  const schedule = describeSchedule(resolveSchedule(options.schedule));
  if (schedule !== 'constant') phase.schedule = schedule;
  if (options.batchNorm !== undefined) phase.batchNorm = { mode: options.batchNorm, ran: resolveBatchNorm(options.batchNorm) };
  if (options.classWeight !== undefined) phase.classWeight = formatClassWeight(options.classWeight);
  if (result.classWeights) phase.classWeights = result.classWeights;
  Object.assign(phase, withControls(options));
  if (result.keptBest) phase.keptBest = result.keptBest;
  const run: RunInfo = {
    ...runHeader(data, seed),
    kind: options.kind ?? 'train',
    architecture,
    ...(options.baselineFor !== undefined && { baselineFor: options.baselineFor }),
    phases: [phase],
    metrics: { test },
  };
  if (options.out) await saveRun(options.out, model, run, { force, extraFiles: examplesFile(model, data.test) });
  return { model, run, test, seconds, evaluationSeconds };
}

/** The fields every run.json starts with. */
export function runHeader(data: PreparedData, seed: number): Pick<RunInfo, 'graftVersion' | 'tfjsVersion' | 'createdAt' | 'task' | 'classNames' | 'sampleShape' | 'preprocessing' | 'seed' | 'backend' | 'data'> {
  return {
    graftVersion: GRAFT_VERSION,
    tfjsVersion: TFJS_VERSION,
    createdAt: new Date().toISOString(),
    task: data.task,
    classNames: [...data.train.classNames],
    sampleShape: [...data.train.sampleShape],
    preprocessing: { pixelScale: 1 / 255, resize: data.resize ?? 'squash' },
    seed,
    backend: activeBackend()?.name ?? 'unknown',
    ...(data.summary && { data: data.summary }),
  };
}

/** The options that decide a train run's result, as a resume compares them. */
function trainOptionsRecord(o: TrainModelOptions, seed: number): Record<string, unknown> {
  return {
    task: canonicalTaskText(o.task),
    architecture: o.model ? `(given model ${o.model.name})` : (o.architecture ?? TRAIN_DEFAULTS.architecture),
    epochs: o.epochs ?? TRAIN_DEFAULTS.epochs,
    batchSize: o.batchSize ?? FIT_DEFAULTS.batchSize,
    optimizer: resolveOptimizer(o.optimizer),
    // Only when set, so checkpoints from before schedules existed still resume.
    ...(o.schedule !== undefined && { schedule: describeSchedule(resolveSchedule(o.schedule)) }),
    ...(o.batchNorm !== undefined && { batchNorm: o.batchNorm }),
    earlyStopping: o.earlyStopping ? { ...EARLY_STOPPING_DEFAULTS, ...o.earlyStopping } : false,
    seed,
    perClass: o.perClass,
    valSplit: o.valSplit,
    image: o.image,
    ...(o.classWeight !== undefined && { classWeight: o.classWeight }),
    ...withControls(o),
    ...(o.resize !== undefined && { resize: o.resize }),
  };
}
