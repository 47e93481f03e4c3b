import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { Rng, deriveSeed } from '../engine/rng.js';
import type { EngineChoice } from '../engine/engine-choice.js';
import { type Dataset, sampleSize } from '../data/dataset.js';
import { gatherLabels } from '../data/batch.js';
import { gatherSamples } from '../data/rows.js';
import { assertUnitRange } from '../data/normalize.js';
import { flatLayers } from '../train/forward.js';
import { modelSampleShape } from '../train/input-shape.js';
import { checkLabels, describeOutput } from '../train/loss.js';
import { resolveOptimizer, type OptimizerSpec } from '../train/optimizer.js';
import type { LearningRateScale } from '../train/param-groups.js';
import { chooseStepper } from '../train/onnx/select.js';
import type { EngineUse } from '../train/stepper.js';
import { FIT_DEFAULTS } from '../train/fit.js';
import { cloneModel } from '../transfer/transfer.js';
import { disposeModel } from '../models/dispose.js';
import { LR_FIND_DEFAULTS, LossSmoother, checkLrRange, divergedLoss, rangeRate, suggestRates, type LrSuggestion } from './lr-find-curve.js';

/**
 * Smith's learning-rate range test (fastai's `lr_find`, torch-lr-finder): a copy of the model
 * trains for `steps` mini-batches while the rate rises exponentially from `min` to `max`; the
 * smoothed loss per step is the curve, and the rate just before it turns up is where to train.
 */

export interface LrFindOptions {
  /** First rate. Default LR_FIND_DEFAULTS.min (1e-7). */
  min?: number;
  /** Last rate. Default LR_FIND_DEFAULTS.max (10). */
  max?: number;
  /** Mini-batches (the data is reshuffled and reused when it has fewer). Default LR_FIND_DEFAULTS.steps (100). */
  steps?: number;
  /** Samples per step. Default FIT_DEFAULTS.batchSize (32). */
  batchSize?: number;
  /** The optimizer whose rate is swept; its own learningRate is ignored. Default sgd without momentum. */
  optimizer?: OptimizerSpec;
  /** Per-layer factor on the rate (discriminative rates), as in fit. Default 1. */
  learningRateScale?: LearningRateScale;
  /** Seeds batch order and dropout. Default 0. */
  seed?: number;
  /** As fit's `engine`. Default 'auto'. */
  engine?: EngineChoice;
  /** Stop once the smoothed loss exceeds this × its best. Default LR_FIND_DEFAULTS.stopFactor (4, fastai's). */
  stopFactor?: number;
  /** Smoothing factor of the loss curve. Default LR_FIND_DEFAULTS.beta (0.98, fastai's). */
  beta?: number;
  /** Called after each step. */
  onStep?: (step: number, steps: number, rate: number, smoothedLoss: number) => void;
}

export interface LrFindResult {
  /** The rate of each step taken. */
  rates: number[];
  /** Each step's mini-batch loss, before that step's update. */
  losses: number[];
  /** The bias-corrected moving average of `losses` (the curve to read). */
  smoothed: number[];
  /** Steps asked for; `rates.length` is less when the loss diverged. */
  steps: number;
  /** True when the smoothed loss passed stopFactor × its best (or became non-finite) before the last step. */
  stoppedEarly: boolean;
  suggestion: LrSuggestion;
  engine: EngineUse;
  min: number;
  max: number;
  batchSize: number;
  optimizer: string;
}

/** Runs the range test on a copy of `model`; `model` itself (weights and trainability) is left exactly as it was. */
export async function lrFind(model: tfl.LayersModel, data: Dataset, options: LrFindOptions = {}): Promise<LrFindResult> {
  const min = options.min ?? LR_FIND_DEFAULTS.min;
  const max = options.max ?? LR_FIND_DEFAULTS.max;
  const steps = options.steps ?? LR_FIND_DEFAULTS.steps;
  checkLrRange(min, max, steps);
  const stopFactor = options.stopFactor ?? LR_FIND_DEFAULTS.stopFactor;
  if (!(stopFactor > 1)) throw new GraftError('BAD_ARGUMENT', `stopFactor must be above 1; received ${stopFactor}. Use fastai's ${LR_FIND_DEFAULTS.stopFactor}.`);
  const requested = options.batchSize ?? FIT_DEFAULTS.batchSize;
  if (!Number.isInteger(requested) || requested < 1) throw new GraftError('BAD_ARGUMENT', `batchSize must be a whole number ≥ 1; received ${requested}.`);
  const n = data.y.length;
  if (n === 0) throw new GraftError('BAD_ARGUMENT', `Training data ${data.source} is empty; check the task spec and --per-class.`);
  assertUnitRange(data, 'training data');
  const smoother = new LossSmoother(options.beta ?? LR_FIND_DEFAULTS.beta);
  const batchSize = Math.min(requested, n);
  const opt = resolveOptimizer({ ...options.optimizer, learningRate: min });

  // The copy trains; the caller's model is never handed to a stepper.
  const copy = await cloneModel(model);
  const head = describeOutput(copy);
  checkLabels(head, data.y, `Training data ${data.source}`);
  const shape = modelSampleShape(copy, data.sampleShape, data.source);
  const size = sampleSize(shape);
  let stepper;
  try {
    stepper = await chooseStepper(copy, head, opt, options.learningRateScale, size, options.engine);
  } catch (e) {
    disposeModel(copy);
    throw e;
  }
  const rates: number[] = [];
  const losses: number[] = [];
  const smoothed: number[] = [];
  let stoppedEarly = false;
  try {
    if ((await stepper.refresh()) === 0) throw new GraftError('BAD_ARGUMENT', `Every layer of ${model.name} is frozen, so the range test has nothing to train. Unfreeze some layers or add a trainable head.`);
    const rng = new Rng(deriveSeed(options.seed ?? FIT_DEFAULTS.seed, 'lr-find'));
    const dropouts = flatLayers(copy).filter((l) => l.getClassName() === 'Dropout') as Array<tfl.layers.Layer & { seed?: number }>;
    const order = Int32Array.from({ length: n }, (_, i) => i);
    const x = new Float32Array(batchSize * size);
    const y = new Float32Array(batchSize);
    let best = Infinity;
    let start = n; // forces a shuffle before the first batch
    // One "epoch" for the whole test: beginEpoch makes the model's weights the truth again, so
    // calling it per step would undo each step on an engine that holds weights apart (onnxruntime).
    stepper.beginEpoch(0, 0);
    let sumBefore = 0;
    for (let i = 0; i < steps; i++) {
      if (start + batchSize > n) {
        rng.shuffle(order);
        start = 0;
      }
      const end = start + batchSize;
      gatherSamples(data, order, start, end, x);
      gatherLabels(data.y, order, start, end, y);
      start = end;
      for (const d of dropouts) d.seed = rng.seed();
      const rate = rangeRate(min, max, steps, i);
      stepper.setLearningRate(rate);
      await stepper.step(x, y, batchSize, shape);
      // Each step's loss is read at once, so each runs at once.
      await stepper.flush();
      // The running sum grows by this batch's loss × its samples.
      const sum = stepper.sums().loss;
      const loss = (sum - sumBefore) / batchSize;
      sumBefore = sum;
      const s = smoother.add(loss);
      rates.push(rate);
      losses.push(loss);
      smoothed.push(s);
      options.onStep?.(i + 1, steps, rate, s);
      if (divergedLoss(s, best, stopFactor)) {
        stoppedEarly = i < steps - 1;
        break;
      }
      best = Math.min(best, s);
    }
  } finally {
    stepper.dispose();
    disposeModel(copy);
  }
  return { rates, losses, smoothed, steps, stoppedEarly, suggestion: suggestRates(rates, smoothed), engine: stepper.use, min, max, batchSize, optimizer: opt.name };
}
