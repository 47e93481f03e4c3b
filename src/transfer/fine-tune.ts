import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { makeAugmenter, type AugmentOptions } from '../data/augment.js';
import { fit, type FitOptions } from '../train/fit.js';
import { pickControls } from '../train/callbacks/controls.js';
import { resolveBatchNorm, type BatchNormMode } from '../train/batchnorm-mode.js';
import { resolveOptimizer, type OptimizerSpec } from '../train/optimizer.js';
import { describeSchedule, resolveSchedule, type ScheduleOption } from '../train/schedule.js';
import type { FitResult } from '../train/types.js';
import { readWeights, writeWeights, type FitCheckpoint } from '../train/checkpoint.js';
import { FeatureCache, findSplit } from './feature-cache.js';
import { selectUnfreeze, type UnfreezePolicy } from './freeze.js';
import { discriminativeScale, layerGroups } from './layer-groups.js';
import type { TransferredModel } from './transfer.js';

export interface PhaseOptions {
  /** Epochs of this phase. */
  epochs: number;
  optimizer?: OptimizerSpec;
  /** The phase's learning-rate schedule (train/schedule.ts), e.g. 'cosine,warmup:1'. Default constant. */
  schedule?: ScheduleOption;
  /** How trainable BatchNorm layers run in this phase (FitOptions.batchNorm): 'train', 'frozen' or 'auto' (BATCH_NORM_AUTO: measured for fine-tuning). Default 'auto'. */
  batchNorm?: BatchNormMode;
}

export interface UnfrozenPhaseOptions extends PhaseOptions {
  /** Which reused layers become trainable. Default 'all'. */
  unfreeze?: UnfreezePolicy;
  /** Unfreeze one more layer group (block) per epoch, from the top, instead of all at once (ULMFiT). Default false. */
  gradual?: boolean;
  /**
   * Discriminative learning rates: the earliest unfrozen group trains at this fraction of the phase's
   * rate, later groups at geometrically larger ones, the head at the full rate (e.g. 0.1). Default: one rate.
   */
  discriminative?: number;
}

export interface FineTuneOptions extends Pick<FitOptions, 'batchSize' | 'seed' | 'validation' | 'earlyStopping' | 'callbacks' | 'signal' | 'classWeight' | 'labelSmoothing' | 'keepBest' | 'reduceOnPlateau'> {
  /** Phase 1: reused layers frozen as `transfer` left them; only the rest trains. Default sgd 0.001 × 4 (the write-up's Model B). */
  frozen?: PhaseOptions;
  /** Phase 2: unfrozen. Default 16 epochs, same optimizer as phase 1 at a tenth of its learning rate. */
  unfrozen?: UnfrozenPhaseOptions;
  /**
   * Run the frozen part of the model once per image and train the rest on those features. The same
   * results as without (to float32 rounding where onnxruntime computes the features), and much
   * faster for a big frozen base. Off while augmenting. Default true.
   */
  featureCache?: boolean;
  /** Random flips and shifts of the training images; turns the feature cache off. Default none. */
  augment?: AugmentOptions;
  /** Called after each phase, before the next one changes trainability (e.g. to score the frozen model). Not for an interrupted phase. */
  onPhaseEnd?: (result: PhaseResult) => void | Promise<void>;
  /**
   * Continue an interrupted fineTune from the `resume` of its last phase, with a model rebuilt the
   * same way (same `transfer` call) and the same data and options: the result equals an
   * uninterrupted run bit for bit. Finished phases are taken from it, not run again.
   */
  resumeFrom?: FineTuneCheckpoint;
}

/** Where an interrupted fineTune stopped; everything needed to continue it exactly. */
export interface FineTuneCheckpoint {
  phase: PhaseResult['name'];
  /** The phases that had finished, as they were returned (without their caches). */
  completed: PhaseResult[];
  /**
   * All of the model's weights. The phase's fit state holds none of its own: with a feature cache it
   * trains only the top, and the cache must be rebuilt from these weights before it resumes.
   */
  weights: Float32Array[];
  fit: FitCheckpoint;
  /** Seconds the interrupted phase had run. */
  seconds: number;
}

export const FINE_TUNE_DEFAULTS = {
  frozen: { epochs: 4, optimizer: { name: 'sgd', learningRate: 0.001 } },
  unfrozen: { epochs: 16, unfreeze: 'all', learningRateFactor: 0.1 },
} as const;

/** Features larger than this are not cached (the phase runs uncached and says so). */
export const FEATURE_CACHE_LIMIT_BYTES = 4 * 2 ** 30;

export interface PhaseResult extends FitResult {
  name: 'frozen' | 'unfrozen';
  optimizer: Required<OptimizerSpec>;
  /** Layers whose weights could change in this phase (by its end, with gradual unfreezing). */
  trainableLayers: string[];
  seconds: number;
  /** Learning rate per trainable layer, when discriminative rates were used (the peak, before any schedule). */
  learningRates?: Record<string, number>;
  /** The phase's learning-rate schedule in its text form, when not constant. */
  schedule?: string;
  /** The phase's BatchNorm mode when one was given: as given, and what it ran as ('auto' resolved). */
  batchNorm?: { mode: BatchNormMode; ran: 'train' | 'frozen' };
  /** With gradual unfreezing: the layers made trainable before each epoch. */
  unfreezeSchedule?: string[][];
  /** Where the feature cache split the model, the time spent computing features, and the engine that did (with why TF.js, if it did). */
  featureCache?: { layer: string; images: number; seconds: number; engine?: 'onnxruntime' | 'tfjs'; engineReason?: string };
  /** When stopReason is 'interrupted': pass it as `resumeFrom` to continue (it replaces `checkpoint`). */
  resume?: FineTuneCheckpoint;
  /**
   * The cache itself while `onPhaseEnd` runs: `cache.top` scores `cache.features(data)` exactly as
   * the whole model scores `data`, without running the frozen base again (`await
   * cache.precompute([data])` first, so new data runs the base on onnxruntime where it can).
   */
  cache?: FeatureCache;
}

/**
 * fastai's recipe in two phases: train the new head with the reused layers frozen, then unfreeze
 * and train everything at a lower learning rate. Phase 2 is skipped when phase 1 stopped on a
 * non-finite or diverging loss.
 */
export async function fineTune(t: TransferredModel, data: Dataset, options: FineTuneOptions = {}): Promise<PhaseResult[]> {
  const frozenOpts = options.frozen ?? FINE_TUNE_DEFAULTS.frozen;
  const frozenOptimizer = resolveOptimizer(frozenOpts.optimizer ?? FINE_TUNE_DEFAULTS.frozen.optimizer);
  const unfrozenOpts = options.unfrozen ?? { epochs: FINE_TUNE_DEFAULTS.unfrozen.epochs };
  const unfrozenOptimizer = resolveOptimizer(
    unfrozenOpts.optimizer ?? { ...frozenOptimizer, learningRate: frozenOptimizer.learningRate * FINE_TUNE_DEFAULTS.unfrozen.learningRateFactor },
  );
  // A bad BatchNorm mode is refused before any phase trains.
  if (options.frozen?.batchNorm !== undefined) resolveBatchNorm(options.frozen.batchNorm, "The frozen phase's batchNorm");
  if (options.unfrozen?.batchNorm !== undefined) resolveBatchNorm(options.unfrozen.batchNorm, "The unfrozen phase's batchNorm");
  const results: PhaseResult[] = [];
  const resume = options.resumeFrom;
  if (resume && resume.phase !== 'frozen' && resume.phase !== 'unfrozen') throw new GraftError('CHECKPOINT_CORRUPT', `The checkpoint names phase ${JSON.stringify(resume.phase)}; fineTune has phases "frozen" and "unfrozen".`);
  const run = async (name: PhaseResult['name'], epochs: number, optimizer: Required<OptimizerSpec>, plan: PhasePlan): Promise<PhaseResult> => {
    const here = resume?.phase === name ? resume : undefined;
    // Before the feature cache is planned and filled: it must see the interrupted run's weights.
    if (here) writeWeights(t.model, here.weights, 'The checkpoint');
    const result = await runPhase(t.model, data, name, epochs, optimizer, plan, options, here);
    results.push(result);
    if (result.stopReason === 'interrupted') {
      result.cache?.release();
      delete result.cache;
      const { weights: _, ...fitState } = result.checkpoint!;
      delete result.checkpoint;
      result.resume = { phase: name, completed: results.slice(0, -1), weights: readWeights(t.model), fit: fitState, seconds: result.seconds };
      return result;
    }
    try {
      await options.onPhaseEnd?.(result);
    } finally {
      result.cache?.release();
      delete result.cache; // features can be large: free them once the phase has been scored
    }
    return result;
  };

  let first: PhaseResult;
  if (resume?.phase === 'unfrozen') {
    // The frozen phase finished before the interruption; its record comes from the checkpoint.
    if (!resume.completed[0] || resume.completed[0].name !== 'frozen') throw new GraftError('CHECKPOINT_CORRUPT', 'The checkpoint stopped in the unfrozen phase but holds no record of the frozen one.');
    first = resume.completed[0];
    results.push(first);
  } else {
    first = await run('frozen', frozenOpts.epochs, frozenOptimizer, {});
  }
  if (first.stopReason === 'interrupted' || first.stopReason === 'non-finite-loss' || first.stopReason === 'diverged' || unfrozenOpts.epochs === 0) return results;

  const chosen = selectUnfreeze(t.reused, unfrozenOpts.unfreeze ?? FINE_TUNE_DEFAULTS.unfrozen.unfreeze);
  const groups = layerGroups(chosen);
  const plan: PhasePlan = {};
  if (unfrozenOpts.discriminative !== undefined) plan.learningRateScale = discriminativeScale(groups, unfrozenOpts.discriminative);
  if (unfrozenOpts.gradual) {
    // Epoch e trains the last e groups; the feature cache splits below the earliest group the phase reaches.
    const reached = groups.slice(-Math.min(groups.length, unfrozenOpts.epochs));
    plan.schedule = (epoch) => {
      const added = groups[groups.length - epoch];
      for (const layer of added ?? []) layer.trainable = true;
      return added?.map((l) => l.name) ?? [];
    };
    plan.finalState = reached.flat();
  } else {
    for (const layer of chosen) layer.trainable = true;
  }
  await run('unfrozen', unfrozenOpts.epochs, unfrozenOptimizer, plan);
  return results;
}

interface PhasePlan {
  learningRateScale?: (layer: tfl.layers.Layer) => number;
  /** Gradual unfreezing: makes layers trainable before an epoch, returns their names. */
  schedule?: (epoch: number) => string[];
  /** Layers the schedule will have unfrozen by the end (the cache must stay below them). */
  finalState?: tfl.layers.Layer[];
}

async function runPhase(
  model: tfl.LayersModel,
  data: Dataset,
  name: PhaseResult['name'],
  epochs: number,
  optimizer: Required<OptimizerSpec>,
  plan: PhasePlan,
  options: FineTuneOptions,
  resume: FineTuneCheckpoint | undefined,
): Promise<PhaseResult> {
  const started = performance.now();
  const say = (text: string): void => options.callbacks?.onMessage?.(text);
  const augment = options.augment ? makeAugmenter(options.augment) : undefined;
  const cache = epochs > 0 && options.featureCache !== false ? planCache(model, data, plan, augment !== undefined, name, say) : undefined;
  const target = cache?.top ?? model;
  const schedule: string[][] = [];
  const phaseOptions = name === 'frozen' ? options.frozen : options.unfrozen;
  const rateSchedule = phaseOptions?.schedule;
  const batchNorm = phaseOptions?.batchNorm;
  // Reused layers are already trained: 'auto' (and no mode) resolves as for fine-tuning, not as fit's from-scratch default.
  const batchNormRan = resolveBatchNorm(batchNorm, `The ${name} phase's batchNorm`, 'fine-tune');
  const fitOptions: FitOptions = {
    epochs,
    optimizer,
    phase: name,
    ...(rateSchedule !== undefined && { schedule: rateSchedule }),
    batchNorm: batchNormRan,
    ...(options.batchSize !== undefined && { batchSize: options.batchSize }),
    ...(options.seed !== undefined && { seed: options.seed }),
    ...(options.earlyStopping !== undefined && { earlyStopping: options.earlyStopping }),
    ...(options.classWeight !== undefined && { classWeight: options.classWeight }),
    // Each phase keeps its own best epoch and plateau (a fit each, as Keras's callbacks per fit call).
    ...pickControls(options),
    ...(options.callbacks && { callbacks: options.callbacks }),
    ...(plan.learningRateScale && { learningRateScale: plan.learningRateScale }),
    ...(augment && { augment }),
    ...(plan.schedule && { beforeEpoch: (epoch: number) => void schedule.push(plan.schedule!(epoch)) }),
    ...(options.signal && { signal: options.signal }),
    ...(resume && { resumeFrom: resume.fit }),
  };
  let result: FitResult;
  try {
    // onnxruntime (where the base translates) fills the cache; the features() calls below then hit it.
    if (cache) await cache.precompute(options.validation ? [data, options.validation] : [data]);
    if (options.validation) fitOptions.validation = cache ? cache.features(options.validation) : options.validation;
    const trainData = cache ? cache.features(data) : data;
    if (cache) {
      say(
        `Phase "${name}": feature cache: ran the frozen layers up to ${cache.split.layer.name} once over ${cache.images} images ` +
          `in ${cache.seconds.toFixed(1)} s (${Math.round(cache.images / Math.max(cache.seconds, 1e-3))} images/s, ${engineText(cache)}); the layers above train on the cached features.`,
      );
    }
    result = await fit(target, trainData, fitOptions);
  } catch (e) {
    cache?.release();
    throw e;
  }
  const trainable = model.layers.filter((l) => l.trainable && l.trainableWeights.length > 0);
  const seconds = (performance.now() - started) / 1000 + (resume?.seconds ?? 0);
  const phase: PhaseResult = { ...result, name, optimizer, trainableLayers: trainable.map((l) => l.name), seconds };
  if (plan.learningRateScale) phase.learningRates = Object.fromEntries(trainable.map((l) => [l.name, optimizer.learningRate * plan.learningRateScale!(l)]));
  if (plan.schedule) phase.unfreezeSchedule = schedule;
  const described = rateSchedule === undefined ? 'constant' : describeSchedule(resolveSchedule(rateSchedule));
  if (described !== 'constant') phase.schedule = described;
  if (batchNorm !== undefined) phase.batchNorm = { mode: batchNorm, ran: batchNormRan };
  if (cache) {
    phase.featureCache = { layer: cache.split.layer.name, images: cache.images, seconds: cache.seconds };
    if (cache.engine) phase.featureCache.engine = cache.engine.engine;
    if (cache.engine?.reason) phase.featureCache.engineReason = cache.engine.reason;
    phase.cache = cache;
  }
  return phase;
}

function engineText(cache: FeatureCache): string {
  const e = cache.engine;
  if (!e || e.engine === 'onnxruntime') return 'onnxruntime';
  return e.reason ? `TF.js: ${e.reason}` : 'TF.js';
}

/** A feature cache for the phase, or undefined (saying why when a user would expect one). */
function planCache(model: tfl.LayersModel, data: Dataset, plan: PhasePlan, augmenting: boolean, phase: string, say: (t: string) => void): FeatureCache | undefined {
  // With gradual unfreezing the split must sit below every layer the phase will unfreeze.
  const pending = (plan.finalState ?? []).filter((l) => !l.trainable);
  for (const l of pending) l.trainable = true;
  const search = findSplit(model);
  for (const l of pending) l.trainable = false;
  if (!('split' in search)) return undefined;
  if (augmenting) {
    say(`Phase "${phase}": feature cache off because augmentation changes the images every epoch; the frozen layers up to ${search.split.layer.name} run on every batch.`);
    return undefined;
  }
  const cache = new FeatureCache(model, search.split);
  const bytes = cache.bytesFor(data.y.length);
  if (bytes > FEATURE_CACHE_LIMIT_BYTES) {
    say(`Phase "${phase}": feature cache off: features at ${search.split.layer.name} would take ${(bytes / 2 ** 30).toFixed(1)} GiB (limit ${FEATURE_CACHE_LIMIT_BYTES / 2 ** 30} GiB); cut later or use fewer images.`);
    return undefined;
  }
  return cache;
}
