import type * as tfl from '@tensorflow/tfjs-layers';
import { activeBackend } from '../engine/backend.js';
import { Rng, deriveSeed } from '../engine/rng.js';
import { GraftError } from '../errors.js';
import { evaluateOn } from '../evaluate/evaluate.js';
import { disposeModel } from '../models/dispose.js';
import { resolveOptimizer, type OptimizerName, type ResolvedOptimizer } from '../train/optimizer.js';
import { fineTune } from '../transfer/fine-tune.js';
import { GUARD_STOPS } from '../train/divergence.js';
import { parseFreezePolicy } from '../transfer/freeze.js';
import { parseLayerRef } from '../transfer/layer-ref.js';
import { transfer } from '../transfer/transfer.js';
import { GRAFT_VERSION } from '../version.js';
import { betterTrial, type SweepConfig, type SweepResult, type SweepTrial } from '../evaluate/sweep-result.js';

export type { SweepConfig, SweepResult, SweepTrial } from '../evaluate/sweep-result.js';
import type { Dataset } from '../data/dataset.js';
import { prepareTask, type DataOptions, type PreparedData } from './prepare.js';
import { checkStudyTraining, pickStudyTraining, scheduleText, studyTrainingRecord, type StudyTraining } from './study-training.js';
import { classWeightRecord, formatClassWeight, resolveClassWeights, type ClassWeight } from '../train/class-weight.js';

/** The values to try for each knob; a knob left out keeps its single default. */
export interface SweepSpace {
  /** Last reused layer, by name or index. Default: all but the output layer. */
  cut?: Array<string | number>;
  /** Freeze policies in CLI form: all, none, first:N, /regex/, name,name. Default ['all']. */
  freeze?: string[];
  frozenEpochs?: number[];
  unfrozenEpochs?: number[];
  frozenLr?: number[];
  /** Default: a tenth of each frozenLr. */
  unfrozenLr?: number[];
}

export const SWEEP_DEFAULTS = { frozenEpochs: 10, unfrozenEpochs: 10, frozenLr: 1e-3, optimizer: 'adam', valSplit: 0.2, samples: 10, seed: 0, batchSize: 32 } as const;

/**
 * Issue 16's options (StudyTraining) apply to every configuration: label smoothing, keep best and
 * reduce on plateau to both phases, `batchNorm` to the unfrozen phase. A sweep has no early stopping,
 * so `monitor` is keep best's and reduce on plateau's own.
 */
export interface SweepOptions extends Pick<DataOptions, 'dataDir' | 'download' | 'perClass' | 'resize'>, StudyTraining {
  source: tfl.LayersModel;
  sourcePath?: string;
  task: string;
  space: SweepSpace;
  /** 'grid' tries every combination; 'random' draws `samples` of them. Default 'grid'. */
  mode?: 'grid' | 'random';
  samples?: number;
  optimizer?: OptimizerName;
  /** SGD's or RMSprop's momentum, both phases. Default 0. */
  momentum?: number;
  /** OptimizerSpec.weightDecay, both phases. Default 0 (adamw 0.01). */
  weightDecay?: number;
  /** Learning-rate schedules of the two phases (train/schedule.ts). Default constant. */
  frozenSchedule?: string;
  unfrozenSchedule?: string;
  valSplit?: number;
  seed?: number;
  batchSize?: number;
  /** Loss weight per class in every configuration, as Keras's class_weight (FitOptions.classWeight). Default none. */
  classWeight?: ClassWeight;
  onConfig?: (tried: SweepTrial, done: number, total: number) => void;
}

/** A resolved sweep: the configurations to try, in order, and what every one shares. Plain JSON (a shard's fingerprint holds it). */
export interface SweepPlan extends StudyTraining {
  task: string;
  mode: 'grid' | 'random';
  seed: number;
  configs: SweepConfig[];
  /** Both phases' optimizer but for the rate, which each configuration sets. */
  optimizer: Omit<ResolvedOptimizer, 'learningRate'>;
  frozenSchedule?: string;
  unfrozenSchedule?: string;
  batchSize: number;
  classWeight?: ClassWeight;
  data: Pick<DataOptions, 'dataDir' | 'download' | 'perClass' | 'resize' | 'modelInput' | 'valSplit' | 'seed'>;
}

/** One configuration's outcome; `test` only on the best of the configurations one process ran (the sweep's choice is among those). */
export type SweepRunTrial = SweepTrial & { test?: { accuracy: number; loss: number } };

export function planSweep(options: SweepOptions): SweepPlan {
  const mode = options.mode ?? 'grid';
  const seed = options.seed ?? SWEEP_DEFAULTS.seed;
  let configs = gridOf(options.space);
  if (mode === 'random') {
    const n = Math.min(options.samples ?? SWEEP_DEFAULTS.samples, configs.length);
    configs = new Rng(deriveSeed(seed, 'sweep')).shuffle(configs.map((_, i) => i)).slice(0, n).sort((a, b) => a - b).map((i) => configs[i]!);
  }
  const { learningRate: _rate, ...optimizer } = resolveOptimizer({
    name: options.optimizer ?? SWEEP_DEFAULTS.optimizer,
    ...(options.momentum !== undefined && { momentum: options.momentum }),
    ...(options.weightDecay !== undefined && { weightDecay: options.weightDecay }),
  });
  const plan: SweepPlan = {
    task: options.task,
    mode,
    seed,
    configs,
    optimizer,
    batchSize: options.batchSize ?? SWEEP_DEFAULTS.batchSize,
    ...(options.frozenSchedule !== undefined && { frozenSchedule: options.frozenSchedule }),
    ...(options.unfrozenSchedule !== undefined && { unfrozenSchedule: options.unfrozenSchedule }),
    ...(options.classWeight !== undefined && { classWeight: options.classWeight }),
    ...pickStudyTraining(options),
    data: {
      seed,
      modelInput: options.source.inputs[0]!.shape,
      ...(options.resize !== undefined && { resize: options.resize }),
      valSplit: options.valSplit ?? SWEEP_DEFAULTS.valSplit,
      ...(options.perClass !== undefined && { perClass: options.perClass }),
      ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
      ...(options.download !== undefined && { download: options.download }),
    },
  };
  checkStudyTraining({ ...plan, schedules: [plan.frozenSchedule, plan.unfrozenSchedule] });
  return plan;
}

/** The sweep's data: one subsample and split for every configuration. */
export async function prepareSweep(plan: SweepPlan): Promise<PreparedData & { validation: Dataset }> {
  const data = await prepareTask(plan.task, plan.data);
  if (!data.validation) throw new GraftError('BAD_ARGUMENT', 'A sweep chooses on a validation split; pass valSplit > 0.');
  return { ...data, validation: data.validation };
}

/**
 * Trains configuration `index` and scores it on the validation split only; the caller owns the
 * model (a queue worker frees it at once, so it never sees the test set).
 */
export async function trainSweepConfig(source: tfl.LayersModel, plan: SweepPlan, data: PreparedData & { validation: Dataset }, index: number): Promise<{ trial: SweepRunTrial; model: tfl.LayersModel }> {
  const { monitor: _monitor, batchNorm, ...controls } = pickStudyTraining(plan);
  const config = plan.configs[index];
  if (!config) throw new GraftError('BAD_ARGUMENT', `the sweep has ${plan.configs.length} configurations; received index ${index}. Fix: pass an index in 0..${plan.configs.length - 1}.`);
  const started = performance.now();
  const t = await transfer(source, {
    head: { classes: data.train.classNames.length },
    seed: plan.seed,
    freeze: parseFreezePolicy(config.freeze),
    ...(config.cut !== null && { cut: typeof config.cut === 'string' ? parseLayerRef(config.cut) : config.cut }),
  });
  const phases = await fineTune(t, data.train, {
    seed: plan.seed,
    batchSize: plan.batchSize,
    ...(plan.classWeight !== undefined && { classWeight: plan.classWeight }),
    ...controls,
    // Keep best and reduce on plateau watch the split the choice is made on, as Keras's callbacks would.
    ...((controls.keepBest || controls.reduceOnPlateau) && { validation: data.validation }),
    frozen: { epochs: config.frozenEpochs, optimizer: { ...plan.optimizer, learningRate: config.frozenLr }, ...(plan.frozenSchedule !== undefined && { schedule: plan.frozenSchedule }) },
    unfrozen: {
      epochs: config.unfrozenEpochs,
      optimizer: { ...plan.optimizer, learningRate: config.unfrozenLr },
      ...(plan.unfrozenSchedule !== undefined && { schedule: plan.unfrozenSchedule }),
      ...(batchNorm !== undefined && { batchNorm }),
    },
  });
  const v = (await evaluateOn(t.model, data.validation)).evaluation;
  const trial: SweepRunTrial = { config, valAccuracy: v.accuracy, valLoss: v.loss, seconds: (performance.now() - started) / 1000 };
  const stopped = phases.map((p) => p.stopReason).find((r) => GUARD_STOPS.includes(r));
  if (stopped) trial.stopped = stopped;
  return { trial, model: t.model };
}

/** The one look at the test set a sweep's chosen configuration gets: scores `model` on test, frees it, and records the score in `trial`. */
export async function scoreSweepChoice(model: tfl.LayersModel, trial: SweepRunTrial, test: Dataset): Promise<void> {
  const r = (await evaluateOn(model, test)).evaluation;
  disposeModel(model);
  trial.test = { accuracy: r.accuracy, loss: r.loss };
}

/**
 * Trains and scores the configurations at `indices` (plan order), keeping only the best model of
 * them, which alone is scored on the test set: a shard's share, or all of them.
 */
export async function runSweepTrials(source: tfl.LayersModel, plan: SweepPlan, data: PreparedData & { validation: Dataset }, indices: readonly number[], onConfig?: SweepOptions['onConfig']): Promise<SweepRunTrial[]> {
  const trials: SweepRunTrial[] = [];
  let best: { trial: SweepRunTrial; model: tfl.LayersModel } | undefined;
  for (const i of indices) {
    const { trial, model } = await trainSweepConfig(source, plan, data, i);
    trials.push(trial);
    onConfig?.(trial, trials.length, indices.length);
    if (!best || betterTrial(trial, best.trial)) {
      if (best) disposeModel(best.model);
      best = { trial, model };
    } else disposeModel(model);
  }
  if (best) await scoreSweepChoice(best.model, best.trial, data.test);
  return trials;
}

/** The weight each class gets in every configuration, as the result records it; undefined without classWeight. */
export function sweepClassWeights(plan: SweepPlan, train: Dataset): Record<string, number> | undefined {
  return plan.classWeight === undefined ? undefined : classWeightRecord(resolveClassWeights(plan.classWeight, train.y, train.classNames), train.classNames);
}

/**
 * The result from every configuration's outcome, in plan order. The choice is made as one process
 * makes it (first best in plan order), so it is the best of whichever share scored it on test.
 */
export function buildSweepResult(plan: SweepPlan, runs: readonly SweepRunTrial[], info: { task: string; source: string; classWeights?: Record<string, number> | undefined; backend?: string }): SweepResult {
  let chosen: SweepRunTrial | undefined;
  for (const t of runs) if (!chosen || betterTrial(t, chosen)) chosen = t;
  if (!chosen?.test) throw new GraftError('RUN_INCOMPLETE', `the chosen configuration ${JSON.stringify(chosen?.config)} has no test score; the run that trained it did not finish. Rerun it.`);
  const trials: SweepTrial[] = runs.map(({ test: _test, ...t }) => t);
  const { test, ...best } = chosen;
  const record = studyTrainingRecord(plan);
  // Shards each score the best of their share on test (a merge cannot train again); say so.
  const scored = runs.filter((t) => t.test).length;
  return {
    kind: 'sweep',
    createdAt: new Date().toISOString(),
    graftVersion: GRAFT_VERSION,
    backend: info.backend ?? activeBackend()?.name ?? 'unknown',
    source: info.source,
    task: info.task,
    mode: plan.mode,
    ...(plan.classWeight !== undefined && { classWeight: formatClassWeight(plan.classWeight) }),
    ...(info.classWeights !== undefined && { classWeights: info.classWeights }),
    settings: {
      // The rates are each configuration's.
      optimizer: plan.optimizer,
      ...(plan.frozenSchedule !== undefined && { frozenSchedule: scheduleText(plan.frozenSchedule)! }),
      ...(plan.unfrozenSchedule !== undefined && { unfrozenSchedule: scheduleText(plan.unfrozenSchedule)! }),
      ...record,
    },
    tried: trials.length,
    trials,
    best: { ...best, testAccuracy: test.accuracy, testLoss: test.loss },
    caveat:
      `${trials.length} configuration${trials.length === 1 ? ' was' : 's were'} tried and the best was chosen on the validation split, so its validation accuracy ` +
      `(${(100 * best.valAccuracy).toFixed(2)}%) is optimistic: with many tries, one looks good by luck. The test accuracy (${(100 * test.accuracy).toFixed(2)}%) ` +
      (scored > 1
        ? `is the chosen configuration's and the number to report: the choice was made on validation alone; each of the ${scored} shards scored only its own best on the test set, and only this score is used.`
        : 'was measured once, for the chosen configuration only, and is the number to report.'),
  };
}

/** Every combination of the space, in a fixed order. */
export function gridOf(space: SweepSpace): SweepConfig[] {
  const frozenLrs = space.frozenLr ?? [SWEEP_DEFAULTS.frozenLr];
  const axes = {
    cut: (space.cut ?? [null]) as Array<string | number | null>,
    freeze: space.freeze ?? ['all'],
    frozenEpochs: space.frozenEpochs ?? [SWEEP_DEFAULTS.frozenEpochs],
    unfrozenEpochs: space.unfrozenEpochs ?? [SWEEP_DEFAULTS.unfrozenEpochs],
    frozenLr: frozenLrs,
    unfrozenLr: (space.unfrozenLr ?? [null]) as Array<number | null>,
  };
  for (const [name, values] of Object.entries(axes)) {
    if (!Array.isArray(values) || values.length === 0) throw new GraftError('BAD_ARGUMENT', `Sweep space "${name}" needs a non-empty list of values; received ${JSON.stringify(values)}.`);
  }
  const out: SweepConfig[] = [];
  for (const cut of axes.cut)
    for (const freeze of axes.freeze)
      for (const frozenEpochs of axes.frozenEpochs)
        for (const unfrozenEpochs of axes.unfrozenEpochs)
          for (const frozenLr of axes.frozenLr)
            for (const unfrozenLr of axes.unfrozenLr) out.push({ cut, freeze, frozenEpochs, unfrozenEpochs, frozenLr, unfrozenLr: unfrozenLr ?? frozenLr / 10 });
  return out;
}

/**
 * Tries configurations of the transfer recipe, choosing by validation accuracy only. The test set
 * is scored once, for the chosen configuration; the result says how many were tried, because the
 * best of N validation scores overstates what a new draw of data would give.
 */
export async function sweep(options: SweepOptions): Promise<SweepResult> {
  const plan = planSweep(options);
  const data = await prepareSweep(plan);
  const runs = await runSweepTrials(options.source, plan, data, plan.configs.map((_, i) => i), options.onConfig);
  return buildSweepResult(plan, runs, { task: data.task, source: options.sourcePath ?? '(in memory)', classWeights: sweepClassWeights(plan, data.train) });
}
