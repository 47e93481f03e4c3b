import { GUARD_STOPS } from '../train/divergence.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import { activeBackend } from '../engine/backend.js';
import { GraftError } from '../errors.js';
import { evaluateOn, type Evaluation } from '../evaluate/evaluate.js';
import { confidenceInterval, pairedDifference, verdict } from '../evaluate/stats.js';
import type { CompareResult, CompareRow, TrainSize, Trial } from '../evaluate/compare-result.js';
import { disposeModel } from '../models/dispose.js';
import { reinitialize } from '../models/reinit.js';
import { fit } from '../train/fit.js';
import { describeOptimizer, resolveOptimizer, type OptimizerSpec } from '../train/optimizer.js';
import type { TrainCallbacks } from '../train/types.js';
import type { EarlyStoppingOptions } from '../train/early-stopping.js';
import { formatClassWeight, type ClassWeight } from '../train/class-weight.js';
import { applyUnfreeze, type FreezePolicy } from '../transfer/freeze.js';
import { fineTune } from '../transfer/fine-tune.js';
import type { LayerRef } from '../transfer/layer-ref.js';
import { transfer, type HeadOptions } from '../transfer/transfer.js';
import { GRAFT_VERSION } from '../version.js';
import { checkStudyTraining, pickStudyTraining, scheduleText, studyTrainingRecord, type StudyTraining } from './study-training.js';
import { prepareTask, type DataOptions } from './prepare.js';

/** The budget both arms get, stated once. Small-data friendly: Adam, early stopping on validation loss. */
export const COMPARE_DEFAULTS = {
  trainSizes: [10, 50, 200] as TrainSize[],
  seeds: 5,
  frozen: { epochs: 20, optimizer: { name: 'adam', learningRate: 1e-3 } },
  unfrozen: { epochs: 20, optimizer: { name: 'adam', learningRate: 1e-4 } },
  valSplit: 0.2,
  earlyStoppingPatience: 5,
  batchSize: 32,
} as const;

/**
 * Issue 16's options (StudyTraining): label smoothing, keep best and reduce on plateau train both
 * arms; `monitor` is early stopping's metric on both; `batchNorm` is the transfer arm's unfrozen phase.
 */
export interface CompareOptions extends Pick<DataOptions, 'dataDir' | 'download' | 'resize'>, StudyTraining {
  source: tfl.LayersModel;
  sourcePath?: string;
  task: string;
  /** Images per class for each comparison, or 'all'. Default 10, 50, 200. */
  trainSizes?: TrainSize[];
  /** Number of seeds (0..n−1). Default 5. */
  seeds?: number;
  cut?: LayerRef;
  head?: Omit<HeadOptions, 'classes'>;
  freeze?: FreezePolicy;
  /** `schedule`: the frozen phase's learning-rate schedule, and the scratch arm's (over its frozen + unfrozen epochs). Default constant. */
  frozen?: { epochs: number; optimizer?: OptimizerSpec; schedule?: string };
  /** `schedule`: the unfrozen phase's. Default constant. */
  unfrozen?: { epochs: number; optimizer?: OptimizerSpec; schedule?: string };
  /** Fraction of the training images held out for early stopping. Default 0.2. */
  valSplit?: number;
  /** Patience on validation loss; null turns early stopping off. Default 5. */
  earlyStoppingPatience?: number | null;
  batchSize?: number;
  /** Called after each trial (for progress). */
  onTrial?: (trial: Trial, done: number, total: number) => void;
  /** Loss weight per class on both arms ('balanced': from each trial's own training split), as Keras's class_weight. Default none. */
  classWeight?: ClassWeight;
  callbacks?: TrainCallbacks;
}

/** A fully resolved plan: what each trial needs, serialisable for worker threads. */
export interface ComparePlan extends StudyTraining {
  task: string;
  trainSizes: TrainSize[];
  seeds: number[];
  cut?: LayerRef;
  head: Omit<HeadOptions, 'classes'>;
  freeze: FreezePolicy;
  frozen: { epochs: number; optimizer: Required<OptimizerSpec>; schedule?: string };
  unfrozen: { epochs: number; optimizer: Required<OptimizerSpec>; schedule?: string };
  valSplit: number;
  earlyStoppingPatience: number | null;
  batchSize: number;
  dataDir?: string;
  download?: boolean;
  /** folder:/csv: tasks: how images are fitted, and the source's input shape they are fitted to. */
  resize?: DataOptions['resize'];
  modelInput?: (number | null)[];
  classWeight?: ClassWeight;
}

export function planCompare(o: CompareOptions): ComparePlan {
  const seeds = o.seeds ?? COMPARE_DEFAULTS.seeds;
  if (!Number.isInteger(seeds) || seeds < 1) throw new GraftError('BAD_ARGUMENT', `--seeds needs a whole number ≥ 1; received ${seeds}. Use 5 or more for a verdict worth quoting.`);
  const frozenOptimizer = resolveOptimizer(o.frozen?.optimizer ?? COMPARE_DEFAULTS.frozen.optimizer);
  const plan: ComparePlan = {
    task: o.task,
    trainSizes: o.trainSizes ?? [...COMPARE_DEFAULTS.trainSizes],
    seeds: Array.from({ length: seeds }, (_, i) => i),
    head: o.head ?? {},
    freeze: o.freeze ?? 'all',
    frozen: { epochs: o.frozen?.epochs ?? COMPARE_DEFAULTS.frozen.epochs, optimizer: frozenOptimizer },
    unfrozen: {
      epochs: o.unfrozen?.epochs ?? COMPARE_DEFAULTS.unfrozen.epochs,
      optimizer: resolveOptimizer(o.unfrozen?.optimizer ?? { ...frozenOptimizer, learningRate: frozenOptimizer.learningRate / 10 }),
    },
    valSplit: o.valSplit ?? COMPARE_DEFAULTS.valSplit,
    earlyStoppingPatience: o.earlyStoppingPatience === undefined ? COMPARE_DEFAULTS.earlyStoppingPatience : o.earlyStoppingPatience,
    batchSize: o.batchSize ?? COMPARE_DEFAULTS.batchSize,
  };
  if (o.frozen?.schedule !== undefined) plan.frozen.schedule = o.frozen.schedule;
  if (o.unfrozen?.schedule !== undefined) plan.unfrozen.schedule = o.unfrozen.schedule;
  Object.assign(plan, pickStudyTraining(o));
  checkStudyTraining({ ...plan, schedules: [plan.frozen.schedule, plan.unfrozen.schedule] });
  if (o.cut !== undefined) plan.cut = o.cut;
  if (o.dataDir !== undefined) plan.dataDir = o.dataDir;
  if (o.download !== undefined) plan.download = o.download;
  if (o.resize !== undefined) plan.resize = o.resize;
  if (o.classWeight !== undefined) plan.classWeight = o.classWeight;
  const input = o.source.inputs[0]?.shape;
  if (input) plan.modelInput = [...input];
  if (plan.trainSizes.length === 0) throw new GraftError('BAD_ARGUMENT', 'graft compare needs at least one training-set size (--per-class 10,50,200).');
  return plan;
}

/** Every (train size, seed) pair, in a fixed order. */
export function trialKeys(plan: ComparePlan): Array<{ trainSize: TrainSize; seed: number }> {
  return plan.trainSizes.flatMap((trainSize) => plan.seeds.map((seed) => ({ trainSize, seed })));
}

/**
 * Both arms for one training-set size and seed, on the same subsample, split and test set: the
 * transferred model (frozen, then unfrozen) and the same architecture from fresh weights, trained
 * once for the same total epochs with the frozen phase's optimizer and the same early stopping.
 */
export async function runTrialPair(source: tfl.LayersModel, plan: ComparePlan, key: { trainSize: TrainSize; seed: number }, callbacks?: TrainCallbacks): Promise<[Trial, Trial]> {
  const { trainSize, seed } = key;
  const data = await prepareTask(plan.task, {
    seed,
    valSplit: plan.valSplit,
    ...(trainSize !== 'all' && { perClass: trainSize }),
    ...planData(plan),
  });
  const early: EarlyStoppingOptions | false = plan.earlyStoppingPatience === null ? false : { patience: plan.earlyStoppingPatience, ...(plan.monitor !== undefined && { monitor: plan.monitor }) };
  const transferOpts = { head: { ...plan.head, classes: data.train.classNames.length }, seed, freeze: plan.freeze, ...(plan.cut !== undefined && { cut: plan.cut }) };
  const { monitor: _m, batchNorm, ...controls } = pickStudyTraining(plan);
  const common = { batchSize: plan.batchSize, seed, earlyStopping: early, ...controls, ...(plan.classWeight !== undefined && { classWeight: plan.classWeight }), ...(data.validation && { validation: data.validation }), ...(callbacks && { callbacks }) };

  const t = await transfer(source, transferOpts);
  let started = performance.now();
  const phases = await fineTune(t, data.train, { ...common, frozen: plan.frozen, unfrozen: { ...plan.unfrozen, unfreeze: 'all', ...(batchNorm !== undefined && { batchNorm }) } });
  const transferTrial = trial('transfer', (await evaluateOn(t.model, data.test)).evaluation, performance.now() - started, phases.flatMap((p) => p.history), phases[0]?.classWeights, phases.map((p) => p.stopReason));
  disposeModel(t.model);

  const s = await transfer(source, transferOpts);
  reinitialize(s.model, seed);
  applyUnfreeze(s.reused, 'all');
  started = performance.now();
  const r = await fit(s.model, data.train, { ...common, epochs: plan.frozen.epochs + plan.unfrozen.epochs, optimizer: plan.frozen.optimizer, ...(plan.frozen.schedule !== undefined && { schedule: plan.frozen.schedule }), phase: 'scratch' });
  const scratchTrial = trial('scratch', (await evaluateOn(s.model, data.test)).evaluation, performance.now() - started, r.history, r.classWeights, [r.stopReason]);
  disposeModel(s.model);
  return [transferTrial, scratchTrial];

  function trial(arm: Trial['arm'], e: Evaluation, ms: number, history: Array<{ valAccuracy?: number }>, classWeights: Record<string, number> | undefined, stops: readonly string[]): Trial {
    const vals = history.map((h) => h.valAccuracy).filter((v): v is number => v !== undefined);
    const out: Trial = { trainSize, seed, arm, testAccuracy: e.accuracy, testError: 1 - e.accuracy, testLoss: e.loss, epochs: history.length, seconds: ms / 1000, trainCount: data.train.y.length };
    if (vals.length > 0) out.valAccuracy = Math.max(...vals);
    if (classWeights) out.classWeights = classWeights;
    const stopped = stops.find((r) => GUARD_STOPS.includes(r));
    if (stopped) out.stopped = stopped;
    return out;
  }
}

/** One progress line for a finished trial, as the CLI and `graft run` print it. */
export function describeTrial(t: Trial, done: number, total: number): string {
  const size = t.trainSize === 'all' ? 'all' : `${t.trainSize}/class`;
  const stopped = t.stopped ? ` — ${t.stopped === 'diverged' ? 'training diverged' : 'the loss became NaN/infinite'}; scored on the weights from before it: lower the learning rate` : '';
  return `trial ${done}/${total}: ${size} seed ${t.seed} ${t.arm.padEnd(8)} test error ${(100 * t.testError).toFixed(1)}% (${t.epochs} epochs, ${t.seconds.toFixed(1)} s)${stopped}`;
}

/** Per train size: mean ± 95% CI of test error per arm, the paired difference, the verdict. */
export function summarize(trials: Trial[], trainSizes: TrainSize[]): CompareRow[] {
  return trainSizes.map((trainSize) => {
    const pick = (arm: Trial['arm']): Trial[] => trials.filter((t) => t.trainSize === trainSize && t.arm === arm).sort((a, b) => a.seed - b.seed);
    const tr = pick('transfer');
    const sc = pick('scratch');
    const difference = pairedDifference(tr.map((t) => t.testError), sc.map((t) => t.testError));
    const transferCi = confidenceInterval(tr.map((t) => t.testError));
    const scratchCi = confidenceInterval(sc.map((t) => t.testError));
    return { trainSize, transfer: transferCi, scratch: scratchCi, difference, verdict: verdict(difference), errorRatio: scratchCi.mean / transferCi.mean };
  });
}

/** Runs every trial in this thread (see compare-parallel.ts for worker threads). */
export async function compare(options: CompareOptions): Promise<CompareResult> {
  const plan = planCompare(options);
  const started = performance.now();
  const keys = trialKeys(plan);
  const trials: Trial[] = [];
  for (const key of keys) {
    const pair = await runTrialPair(options.source, plan, key, options.callbacks);
    trials.push(...pair);
    pair.forEach((t) => options.onTrial?.(t, trials.length, keys.length * 2));
  }
  return buildResult(plan, trials, options.sourcePath ?? '(in memory)', (performance.now() - started) / 1000, await classNamesOf(plan));
}

export async function classNamesOf(plan: ComparePlan): Promise<string[]> {
  const data = await prepareTask(plan.task, planData(plan));
  return [...data.test.classNames];
}

/** The data options every trial of a plan shares. */
export function planData(plan: ComparePlan): DataOptions {
  return {
    ...(plan.dataDir !== undefined && { dataDir: plan.dataDir }),
    ...(plan.download !== undefined && { download: plan.download }),
    ...(plan.resize !== undefined && { resize: plan.resize }),
    ...(plan.modelInput !== undefined && { modelInput: plan.modelInput }),
  };
}

export function buildResult(plan: ComparePlan, trials: Trial[], source: string, seconds: number, classNames: string[]): CompareResult {
  return {
    kind: 'compare',
    createdAt: new Date().toISOString(),
    graftVersion: GRAFT_VERSION,
    backend: activeBackend()?.name ?? 'unknown',
    source,
    task: plan.task,
    classNames,
    seeds: plan.seeds,
    settings: {
      frozenEpochs: plan.frozen.epochs,
      unfrozenEpochs: plan.unfrozen.epochs,
      scratchEpochs: plan.frozen.epochs + plan.unfrozen.epochs,
      frozenOptimizer: describeOptimizer(plan.frozen.optimizer),
      unfrozenOptimizer: describeOptimizer(plan.unfrozen.optimizer),
      scratchOptimizer: describeOptimizer(plan.frozen.optimizer),
      valSplit: plan.valSplit,
      earlyStoppingPatience: plan.earlyStoppingPatience,
      batchSize: plan.batchSize,
      ...(plan.classWeight !== undefined && { classWeight: formatClassWeight(plan.classWeight) }),
      ...(plan.frozen.schedule !== undefined && { frozenSchedule: scheduleText(plan.frozen.schedule)! }),
      ...(plan.unfrozen.schedule !== undefined && { unfrozenSchedule: scheduleText(plan.unfrozen.schedule)! }),
      ...studyTrainingRecord(plan),
    },
    rows: summarize(trials, plan.trainSizes),
    trials,
    seconds,
  };
}
