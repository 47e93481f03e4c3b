import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset.js';
import { makeAugmenter, type AugmentOptions } from '../data/augment.js';
import { fit, type FitOptions } from '../train/fit.js';
import { resolveOptimizer, type OptimizerSpec } from '../train/optimizer.js';
import type { FitResult } from '../train/types.js';
import { FeatureCache, findSplit } from './feature-cache.js';
import { selectUnfreeze, type UnfreezePolicy } from './freeze.js';
import { discriminativeScale, layerGroups } from './layer-groups.js';
import type { TransferredModel } from './transfer.js';

export interface PhaseOptions {
  /** Epochs of this phase. */
  epochs: number;
  optimizer?: OptimizerSpec;
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

export interface FineTuneOptions extends Pick<FitOptions, 'batchSize' | 'seed' | 'validation' | 'earlyStopping' | 'callbacks'> {
  /** Phase 1: reused layers frozen as `transfer` left them; only the rest trains. Default sgd 0.001 × 4 (the write-up's Model B). */
  frozen?: PhaseOptions;
  /** Phase 2: unfrozen. Default 16 epochs, same optimizer as phase 1 at a tenth of its learning rate. */
  unfrozen?: UnfrozenPhaseOptions;
  /**
   * Run the frozen part of the model once per image and train the rest on those features. Exact
   * (same results as without), and much faster for a big frozen base. Off while augmenting. Default true.
   */
  featureCache?: boolean;
  /** Random flips and shifts of the training images; turns the feature cache off. Default none. */
  augment?: AugmentOptions;
  /** Called after each phase, before the next one changes trainability (e.g. to score the frozen model). */
  onPhaseEnd?: (result: PhaseResult) => void | Promise<void>;
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
  /** Learning rate per trainable layer, when discriminative rates were used. */
  learningRates?: Record<string, number>;
  /** With gradual unfreezing: the layers made trainable before each epoch. */
  unfreezeSchedule?: string[][];
  /** Where the feature cache split the model, and the time spent computing features. */
  featureCache?: { layer: string; images: number; seconds: number };
  /**
   * The cache itself while `onPhaseEnd` runs: `cache.top` scores `cache.features(data)` exactly as
   * the whole model scores `data`, without running the frozen base again.
   */
  cache?: FeatureCache;
}

/**
 * fastai's recipe in two phases: train the new head with the reused layers frozen, then unfreeze
 * and train everything at a lower learning rate. Phase 2 is skipped when phase 1 stopped on a
 * non-finite loss.
 */
export async function fineTune(t: TransferredModel, data: Dataset, options: FineTuneOptions = {}): Promise<PhaseResult[]> {
  const frozenOpts = options.frozen ?? FINE_TUNE_DEFAULTS.frozen;
  const frozenOptimizer = resolveOptimizer(frozenOpts.optimizer ?? FINE_TUNE_DEFAULTS.frozen.optimizer);
  const unfrozenOpts = options.unfrozen ?? { epochs: FINE_TUNE_DEFAULTS.unfrozen.epochs };
  const unfrozenOptimizer = resolveOptimizer(
    unfrozenOpts.optimizer ?? { ...frozenOptimizer, learningRate: frozenOptimizer.learningRate * FINE_TUNE_DEFAULTS.unfrozen.learningRateFactor },
  );
  const results: PhaseResult[] = [];
  const run = async (name: PhaseResult['name'], epochs: number, optimizer: Required<OptimizerSpec>, plan: PhasePlan): Promise<PhaseResult> => {
    const result = await runPhase(t.model, data, name, epochs, optimizer, plan, options);
    results.push(result);
    try {
      await options.onPhaseEnd?.(result);
    } finally {
      result.cache?.release();
      delete result.cache; // features can be large: free them once the phase has been scored
    }
    return result;
  };

  const first = await run('frozen', frozenOpts.epochs, frozenOptimizer, {});
  if (first.stopReason === 'non-finite-loss' || unfrozenOpts.epochs === 0) return results;

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
): Promise<PhaseResult> {
  const started = performance.now();
  const say = (text: string): void => options.callbacks?.onMessage?.(text);
  const augment = options.augment ? makeAugmenter(options.augment) : undefined;
  const cache = epochs > 0 && options.featureCache !== false ? planCache(model, data, plan, augment !== undefined, name, say) : undefined;
  const target = cache?.top ?? model;
  const schedule: string[][] = [];
  const fitOptions: FitOptions = {
    epochs,
    optimizer,
    phase: name,
    ...(options.batchSize !== undefined && { batchSize: options.batchSize }),
    ...(options.seed !== undefined && { seed: options.seed }),
    ...(options.earlyStopping !== undefined && { earlyStopping: options.earlyStopping }),
    ...(options.callbacks && { callbacks: options.callbacks }),
    ...(plan.learningRateScale && { learningRateScale: plan.learningRateScale }),
    ...(augment && { augment }),
    ...(plan.schedule && { beforeEpoch: (epoch: number) => void schedule.push(plan.schedule!(epoch)) }),
  };
  let result: FitResult;
  try {
    if (options.validation) fitOptions.validation = cache ? cache.features(options.validation) : options.validation;
    result = await fit(target, cache ? cache.features(data) : data, fitOptions);
  } catch (e) {
    cache?.release();
    throw e;
  }
  const trainable = model.layers.filter((l) => l.trainable && l.trainableWeights.length > 0);
  const phase: PhaseResult = { ...result, name, optimizer, trainableLayers: trainable.map((l) => l.name), seconds: (performance.now() - started) / 1000 };
  if (plan.learningRateScale) phase.learningRates = Object.fromEntries(trainable.map((l) => [l.name, optimizer.learningRate * plan.learningRateScale!(l)]));
  if (plan.schedule) phase.unfreezeSchedule = schedule;
  if (cache) {
    phase.featureCache = { layer: cache.split.layer.name, images: cache.images, seconds: cache.seconds };
    phase.cache = cache;
  }
  return phase;
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
