import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset.js';
import { sampleSize } from '../data/dataset.js';
import { sampleRange } from '../data/rows.js';
import { forward, forwardForLoss } from './forward.js';
import { modelSampleShape } from './input-shape.js';
import { correctOf, lossOf, probabilities, type OutputHead } from './loss.js';

export const INFERENCE_BATCH = 512;

/** Largest activation (floats) a batch may hold in one layer: 4M floats = 16 MB (the wasm heap never shrinks, so a big batch raises the process peak for good). */
const ACTIVATION_BUDGET = 1 << 22;

/**
 * Inference batch size for a model: 512 for small models, fewer when one layer's output per sample is
 * large (VGG16's first block at 64×64 holds 262k floats per image; 512 of them would need 537 MB).
 */
export function inferenceBatch(model: tfl.LayersModel): number {
  let largest = 1;
  for (const layer of model.layers) {
    const shapes = (Array.isArray(layer.outputShape[0]) ? layer.outputShape : [layer.outputShape]) as Array<Array<number | null>>;
    for (const s of shapes) largest = Math.max(largest, s.slice(1).reduce<number>((a, b) => a * (b ?? 1), 1));
  }
  return Math.max(8, Math.min(INFERENCE_BATCH, Math.floor(ACTIVATION_BUDGET / largest)));
}

export interface LossAccuracy {
  loss: number;
  accuracy: number;
  /** With `probabilities: true`: class probabilities per sample, row-major [n, classes]. */
  probabilities?: Float32Array;
}

export interface LossAccuracyOptions {
  /** Label smoothing of the loss (loss.ts), as training used it. Default 0. */
  labelSmoothing?: number;
  /** Also return every sample's class probabilities (for AUC, top-k, per-class metrics), from the same pass. */
  probabilities?: boolean;
}

/** Inference-mode loss and accuracy over a whole dataset, in batches. */
export function lossAndAccuracy(model: tfl.LayersModel, head: OutputHead, data: Dataset, options: LossAccuracyOptions = {}): LossAccuracy {
  const n = data.y.length;
  if (n === 0) return { loss: NaN, accuracy: NaN };
  const probs = options.probabilities ? new Float32Array(n * head.classes) : undefined;
  const shape = modelSampleShape(model, data.sampleShape, data.source);
  const size = sampleSize(shape);
  let lossSum = 0;
  let correct = 0;
  const batch = inferenceBatch(model);
  const buf = data.rows ? new Float32Array(batch * size) : undefined;
  for (let start = 0; start < n; start += batch) {
    const end = Math.min(n, start + batch);
    const [l, c] = tf.tidy(() => {
      const x = tf.tensor(sampleRange(data, start, end, buf), [end - start, ...shape]);
      const y = tf.tensor1d(data.y.subarray(start, end), 'float32');
      // The same loss as training (from logits where possible), so validation and training compare.
      const { output: out, logits } = forwardForLoss(model, x, false);
      if (probs) probs.set(probabilities(logits ? { ...head, activation: 'linear' } : head, out).dataSync(), start * head.classes);
      return [tf.mul(lossOf(head, out, logits, y, options.labelSmoothing), end - start), correctOf(head, out, logits, y)];
    });
    lossSum += l.dataSync()[0]!;
    correct += c.dataSync()[0]!;
    l.dispose();
    c.dispose();
  }
  const result: LossAccuracy = { loss: lossSum / n, accuracy: correct / n };
  if (probs) result.probabilities = probs;
  return result;
}

/** Class probabilities for every sample (of `x`, or of a dataset, which may be read from disk), row-major [n, classes]. */
export function predictProbabilities(model: tfl.LayersModel, head: OutputHead, x: Float32Array | Dataset, sampleShape: readonly number[], what: string): Float32Array {
  const shape = modelSampleShape(model, sampleShape, what);
  const size = sampleSize(shape);
  const n = x instanceof Float32Array ? x.length / size : x.y.length;
  const out = new Float32Array(n * head.classes);
  const batch = inferenceBatch(model);
  const buf = x instanceof Float32Array || !x.rows ? undefined : new Float32Array(batch * size);
  const slice = (start: number, end: number): Float32Array => (x instanceof Float32Array ? x.subarray(start * size, end * size) : sampleRange(x, start, end, buf));
  for (let start = 0; start < n; start += batch) {
    const end = Math.min(n, start + batch);
    const p = tf.tidy(() => probabilities(head, forward(model, tf.tensor(slice(start, end), [end - start, ...shape]), false)));
    out.set(p.dataSync(), start * head.classes);
    p.dispose();
  }
  return out;
}
