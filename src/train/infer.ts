import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset.js';
import { sampleSize } from '../data/dataset.js';
import { forward } from './forward.js';
import { modelSampleShape } from './input-shape.js';
import { correctCount, crossEntropy, probabilities, type OutputHead } from './loss.js';

export const INFERENCE_BATCH = 512;

export interface LossAccuracy {
  loss: number;
  accuracy: number;
}

/** Inference-mode loss and accuracy over a whole dataset, in batches. */
export function lossAndAccuracy(model: tfl.LayersModel, head: OutputHead, data: Dataset): LossAccuracy {
  const n = data.y.length;
  if (n === 0) return { loss: NaN, accuracy: NaN };
  const shape = modelSampleShape(model, data.sampleShape, data.source);
  const size = sampleSize(shape);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < n; start += INFERENCE_BATCH) {
    const end = Math.min(n, start + INFERENCE_BATCH);
    const [l, c] = tf.tidy(() => {
      const x = tf.tensor(data.x.subarray(start * size, end * size), [end - start, ...shape]);
      const y = tf.tensor1d(data.y.subarray(start, end), 'float32');
      const out = forward(model, x, false);
      return [tf.mul(crossEntropy(head, out, y), end - start), correctCount(head, out, y)];
    });
    lossSum += l.dataSync()[0]!;
    correct += c.dataSync()[0]!;
    l.dispose();
    c.dispose();
  }
  return { loss: lossSum / n, accuracy: correct / n };
}

/** Class probabilities for every sample, row-major [n, classes]. */
export function predictProbabilities(model: tfl.LayersModel, head: OutputHead, x: Float32Array, sampleShape: readonly number[], what: string): Float32Array {
  const shape = modelSampleShape(model, sampleShape, what);
  const size = sampleSize(shape);
  const n = x.length / size;
  const out = new Float32Array(n * head.classes);
  for (let start = 0; start < n; start += INFERENCE_BATCH) {
    const end = Math.min(n, start + INFERENCE_BATCH);
    const p = tf.tidy(() => probabilities(head, forward(model, tf.tensor(x.subarray(start * size, end * size), [end - start, ...shape]), false)));
    out.set(p.dataSync(), start * head.classes);
    p.dispose();
  }
  return out;
}
