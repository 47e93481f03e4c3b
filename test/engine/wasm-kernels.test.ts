import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// Registers the gradient functions, as graft's own imports of tfjs-layers do.
import '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';

/** d(sum(conv2d(x, w) * g)) / dw, computed on the current backend. */
function filterGrad(x: Float32Array, xShape: number[], w: Float32Array, wShape: number[], stride: number, pad: 'same' | 'valid'): Float32Array {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, xShape as [number, number, number, number]);
    const wt = tf.tensor4d(w, wShape as [number, number, number, number]);
    const outShape = tf.conv2d(xt, wt, stride, pad).shape;
    // A non-uniform upstream gradient, so a transposed or shifted result cannot pass.
    const upstream = tf.reshape(tf.sin(tf.range(1, 1 + outShape.reduce((a, b) => a * b))), outShape);
    const g = tf.grad((k: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xt, k as tf.Tensor4D, stride, pad), upstream)));
    return g(wt).dataSync() as Float32Array;
  });
}

describe('wasm Conv2D filter gradient', () => {
  const cases: Array<[string, number[], number[], number, 'same' | 'valid']> = [
    ['3x3 same stride 1', [2, 7, 7, 3], [3, 3, 3, 4], 1, 'same'],
    ['3x3 valid stride 2', [2, 9, 8, 2], [3, 3, 2, 5], 2, 'valid'],
    ['1x1 same stride 2', [1, 6, 6, 4], [1, 1, 4, 3], 2, 'same'],
    ['5x5 same stride 2 odd size', [1, 11, 10, 1], [5, 5, 1, 2], 2, 'same'],
  ];
  for (const [name, xShape, wShape, stride, pad] of cases) {
    it(`matches the cpu backend: ${name}`, async () => {
      const x = Float32Array.from({ length: xShape.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * 0.37));
      const w = Float32Array.from({ length: wShape.reduce((a, b) => a * b) }, (_, i) => Math.cos(i * 0.11));
      await tf.setBackend('cpu');
      const expected = filterGrad(x, xShape, w, wShape, stride, pad);
      await initBackend('wasm');
      await tf.setBackend('wasm');
      const actual = filterGrad(x, xShape, w, wShape, stride, pad);
      expect(actual.length).toBe(expected.length);
      for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!), `element ${i}`).toBeLessThan(1e-3 * Math.max(1, Math.abs(expected[i]!)));
    });
  }
});
