import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import type { EpochRecord } from './types.js';
import { flatLayers } from './forward.js';

/**
 * The exact state of an interrupted `fit`, as plain numbers and typed arrays (no tensors, so it
 * outlives the model and serialises as is). Resuming from it gives the same weights, bit for bit,
 * as never stopping: every source of change between two batches is in here.
 */
export interface FitCheckpoint {
  phase: string;
  /** The epoch in progress (1-based). Its set-up (unfreezing, shuffle, start-of-epoch snapshot) is done. */
  epoch: number;
  epochs: number;
  /** Batches of that epoch already trained; training continues with batch `batch + 1`. */
  batch: number;
  batches: number;
  batchSize: number;
  /** Samples in the training data (what `order` indexes). */
  samples: number;
  /** The sample order of the epoch in progress. Each epoch shuffles the previous order, so it is state. */
  order: Int32Array;
  /** Generator states: shuffling and dropout masks, and augmentation. */
  rng: number;
  augmentRng: number;
  /** The epoch's running loss and correct-count sums (float32 values, as the tensors held them) over `seen` samples. */
  lossSum: number;
  correctSum: number;
  seen: number;
  /** Seconds the epoch in progress had run, so its record's time covers both parts. */
  epochSeconds: number;
  /** Finished epochs. */
  history: EpochRecord[];
  /** The trained model's weights (stableWeights order, as all weight lists here). Absent when the caller saves the whole model itself. */
  weights?: Float32Array[];
  /** The loss at the fit's starting weights (its first batch): what divergence is measured against. */
  startLoss?: number;
  /** Weights at the start of the epoch in progress: what a non-finite or diverging loss rolls back to. */
  epochStartWeights: Float32Array[];
  /** One entry per layer that has an optimizer (per-layer optimizers, see ParamGroups). */
  optimizers: OptimizerState[];
  earlyStopping?: EarlyStoppingState;
  /** With `keepBest` (callbacks/keep-best.ts). */
  keepBest?: KeepBestState;
  /** With `reduceOnPlateau` (callbacks/reduce-on-plateau.ts): its counters and the rate factor in force. */
  reduceOnPlateau?: ReduceOnPlateauState;
}

/** One layer's optimizer: TF.js getWeights() order (iteration count, then the slot variables). */
export interface OptimizerState {
  layer: string;
  iterations: number;
  /**
   * Per kind, one array per variable (TF.js getWeights() order): SGD momentum's accumulators; Adam's
   * and AdamW's first then second moments; RMSprop's mean squares then moments. Empty before the first step.
   */
  slots: Float32Array[];
  /**
   * Adam's running β1^t and β2^t. TF.js's setWeights recomputes them with pow(), which can differ
   * from the running product in the last bit; restoring the saved values keeps resumes exact.
   */
  accBeta?: [number, number];
}

export interface EarlyStoppingState {
  /** Best validation loss so far (Infinity before the first epoch). */
  best: number;
  wait: number;
  bestEpoch?: number;
  /** Weights of the best epoch, when it restores them at the end. */
  bestWeights?: Float32Array[];
}

/** Scores are "lower is better" (callbacks/monitor.ts), so `best` starts at Infinity whatever is watched. */
export interface KeepBestState {
  best: number;
  bestEpoch?: number;
  bestWeights?: Float32Array[];
}

export interface ReduceOnPlateauState {
  best: number;
  wait: number;
  cooldownLeft: number;
  rateFactor: number;
}

type Weight = tfl.layers.Layer['weights'][number];

/**
 * All of a model's weights (trainable or not) in an order that does not depend on trainability:
 * layer by layer, each layer's by name. TF.js's model.weights lists trainable weights first, so its
 * order changes when a layer is frozen or unfrozen (gradual unfreezing does so between epochs).
 */
export function stableWeights(model: tfl.LayersModel): Weight[] {
  const seen = new Set<tfl.layers.Layer>();
  const out: Weight[] = [];
  for (const layer of flatLayers(model)) {
    if (seen.has(layer)) continue;
    seen.add(layer);
    out.push(...[...layer.weights].sort((a, b) => (a.originalName < b.originalName ? -1 : a.originalName > b.originalName ? 1 : 0)));
  }
  return out;
}

/** Copies of all of a model's weights (trainable or not), in stableWeights order. */
export function readWeights(model: tfl.LayersModel): Float32Array[] {
  return stableWeights(model).map((w) => {
    const t = w.read();
    if (t.dtype !== 'float32') throw new GraftError('CHECKPOINT_MISMATCH', `Weight ${w.originalName} of ${model.name} is ${t.dtype}; checkpoints hold float32 weights only.`);
    return (t.dataSync() as Float32Array).slice();
  });
}

/** Throws unless `values` fit `model`'s weights one for one (count and sizes). */
export function checkWeights(model: tfl.LayersModel, values: readonly Float32Array[], what: string): void {
  const ws = stableWeights(model);
  if (values.length !== ws.length) {
    throw new GraftError(
      'CHECKPOINT_MISMATCH',
      `${what} holds ${values.length} weight arrays, but ${model.name} has ${ws.length}: the model rebuilt for resuming is not the one that was interrupted. Resume with the same model and options, or start a new run.`,
    );
  }
  ws.forEach((w, i) => {
    const size = w.shape.reduce<number>((a, b) => a * (b ?? 1), 1);
    if (values[i]!.length !== size) {
      throw new GraftError(
        'CHECKPOINT_MISMATCH',
        `${what}: weight ${i} (${w.originalName}, shape [${w.shape.join(', ')}]) has ${values[i]!.length} values instead of ${size}: the model rebuilt for resuming is not the one that was interrupted.`,
      );
    }
  });
}

/** Sets every weight of `model` from `values` (as readWeights returned them). */
export function writeWeights(model: tfl.LayersModel, values: readonly Float32Array[], what: string): void {
  checkWeights(model, values, what);
  // assign() makes the variable share the new tensor's data, so the tidy only drops our handles.
  // Straight to the variable: LayerVariable.write() would re-apply weight constraints, which graft's
  // training never applies, and that could change the restored values.
  const ws = stableWeights(model);
  tf.tidy(() => ws.forEach((w, i) => (w.read() as tf.Variable).assign(tf.tensor(values[i]!, w.shape as number[], 'float32'))));
}
