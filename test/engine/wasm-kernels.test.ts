import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { GraftError } from '../../src/errors.js';
import { Rng } from '../../src/engine/rng.js';
import { buildMobileNetV2 } from '../../src/models/mobilenetv2.js';
import { glorot } from '../../src/models/output.js';
import { disposeModel } from '../../src/models/dispose.js';
import { loadKerasWeights } from '../../src/io/keras/load.js';

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

type Shape4 = [number, number, number, number];

/** d(sum(depthwiseConv2d(x, w) * g)) / dx and / dw, computed on the current backend. */
function depthwiseGrads(x: Float32Array, xShape: Shape4, w: Float32Array, wShape: Shape4, stride: number, pad: 'same' | 'valid'): { dx: Float32Array; dw: Float32Array } {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, xShape);
    const wt = tf.tensor4d(w, wShape);
    const outShape = tf.depthwiseConv2d(xt, wt, stride, pad).shape;
    const upstream = tf.reshape(tf.sin(tf.range(1, 1 + outShape.reduce((a, b) => a * b))), outShape);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), upstream)));
    const [dx, dw] = g([xt, wt]);
    return { dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array };
  });
}

function expectClose(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!), `${what} element ${i}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected[i]!)));
}

describe('wasm DepthwiseConv2D gradients', () => {
  it('are registered for wasm (TF.js 4.22 has neither)', async () => {
    await initBackend('wasm');
    for (const name of ['DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter']) expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
  });

  // [name, x shape, filter shape, stride, padding]: stride 1/2 × same/valid × odd/even sides, filters, multipliers.
  const cases: Array<[string, Shape4, Shape4, number, 'same' | 'valid']> = [
    ['3x3 same stride 1, even', [2, 8, 8, 5], [3, 3, 5, 1], 1, 'same'],
    ['3x3 same stride 1, odd', [2, 7, 9, 3], [3, 3, 3, 1], 1, 'same'],
    ['3x3 valid stride 1, odd', [1, 9, 7, 4], [3, 3, 4, 1], 1, 'valid'],
    ['3x3 valid stride 1, even', [2, 6, 8, 2], [3, 3, 2, 1], 1, 'valid'],
    ['3x3 same stride 2, even', [2, 8, 8, 6], [3, 3, 6, 1], 2, 'same'],
    ['3x3 same stride 2, odd', [1, 9, 11, 3], [3, 3, 3, 1], 2, 'same'],
    ['3x3 valid stride 2, odd (MobileNetV2 after correct_pad)', [2, 9, 9, 4], [3, 3, 4, 1], 2, 'valid'],
    ['3x3 valid stride 2, even (a row left unread)', [1, 10, 8, 3], [3, 3, 3, 1], 2, 'valid'],
    ['5x5 same stride 2, mixed sides', [1, 11, 10, 2], [5, 5, 2, 1], 2, 'same'],
    ['2x4 valid stride 3', [1, 10, 13, 2], [2, 4, 2, 1], 3, 'valid'],
    ['1x1 same stride 2', [2, 5, 6, 3], [1, 1, 3, 1], 2, 'same'],
    ['3x3 same stride 1, channel multiplier 2', [2, 7, 6, 3], [3, 3, 3, 2], 1, 'same'],
    ['3x3 valid stride 2, channel multiplier 3', [1, 9, 8, 2], [3, 3, 2, 3], 2, 'valid'],
  ];
  for (const [name, xShape, wShape, stride, pad] of cases) {
    it(`match the cpu backend (|diff| < 1e-4·max(1, |cpu|)): ${name}`, async () => {
      const x = Float32Array.from({ length: xShape.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * 0.37));
      const w = Float32Array.from({ length: wShape.reduce((a, b) => a * b) }, (_, i) => Math.cos(i * 0.11));
      await tf.setBackend('cpu');
      const expected = depthwiseGrads(x, xShape, w, wShape, stride, pad);
      await initBackend('wasm');
      await tf.setBackend('wasm');
      const before = tf.memory().numTensors;
      const actual = depthwiseGrads(x, xShape, w, wShape, stride, pad);
      expect(tf.memory().numTensors).toBe(before);
      expectClose(actual.dx, expected.dx, 'dx');
      expectClose(actual.dw, expected.dw, 'dw');
    });
  }

  it('refuse dilated or channels-first convolutions with a GraftError, leaving no tensors', async () => {
    await initBackend('wasm');
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    // Run directly: TF.js's own gradient refuses dilation before reaching a kernel.
    const run = (attrs: Record<string, unknown>): unknown =>
      tf.tidy(() => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.ones([1, 6, 6, 2]), dy: tf.ones([1, 6, 6, 2]) }, { strides: 1, pad: 'same', filterShape: [3, 3, 2, 1], ...attrs }));
    expect(() => run({ dilations: [2, 2] })).toThrow(GraftError);
    expect(() => run({ dilations: [2, 2] })).toThrow(/dilation 1 only; received dilations \[2,2\]/);
    expect(() => run({ dataFormat: 'NCHW' })).toThrow(/channels-last \(NHWC\) only; received dataFormat NCHW/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('free every intermediate in wasm memory (Conv2D and DepthwiseConv2D gradients)', async () => {
    await initBackend('wasm');
    await tf.setBackend('wasm');
    const x = new Float32Array(2 * 9 * 9 * 4).fill(0.5);
    const w = new Float32Array(3 * 3 * 4).fill(0.25);
    const both = (): void => {
      depthwiseGrads(x, [2, 9, 9, 4], w, [3, 3, 4, 1], 2, 'same');
      filterGrad(x, [2, 9, 9, 4], w, [3, 3, 4, 1], 2, 'same');
    };
    both(); // warm-up: first calls may allocate caches
    const bytes = tf.memory().numBytes;
    const data = (tf.backend() as unknown as { dataIdMap: { numDataIds(): number } }).dataIdMap.numDataIds();
    both();
    expect(tf.memory().numBytes).toBe(bytes);
    expect((tf.backend() as unknown as { dataIdMap: { numDataIds(): number } }).dataIdMap.numDataIds()).toBe(data);
  });
});

describe('a MobileNetV2 training step on wasm', () => {
  /** Every trainable weight's gradient of a softmax cross-entropy over MobileNetV2 α=0.35 + pooling + Dense, BatchNorm in training mode. */
  async function stepGradients(backend: 'cpu' | 'wasm'): Promise<{ names: string[]; grads: Float32Array[]; loss: number }> {
    await initBackend(backend);
    await tf.setBackend(backend);
    const before = tf.memory().numTensors;
    const base = buildMobileNetV2({ alpha: 0.35, inputShape: [32, 32, 3], seed: 1 });
    // Keras-written weights: BatchNorm gammas and betas away from 1 and 0, as in a pretrained base.
    await loadKerasWeights(base, path.resolve(__dirname, '../../fixtures/keras/mobilenetv2-0.35.weights.h5'));
    const pooled = tfl.layers.globalAveragePooling2d({}).apply(base.outputs[0]!) as tfl.SymbolicTensor;
    const logits = tfl.layers.dense({ units: 3, kernelInitializer: glorot(new Rng(5)), name: 'head' }).apply(pooled) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: base.inputs, outputs: logits });
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { names, grads, loss } = tf.tidy(() => {
      const x = tf.sin(tf.reshape(tf.range(0, 8 * 32 * 32 * 3), [8, 32, 32, 3]));
      const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
      const { value, grads: g } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, variables);
      return { names: model.trainableWeights.map((w) => w.originalName), grads: variables.map((v) => g[v.name]!.dataSync() as Float32Array), loss: value.dataSync()[0]! };
    });
    disposeModel(model);
    expect(tf.memory().numTensors, `${backend}: tensors left`).toBe(before);
    return { names, grads, loss };
  }

  it("gives every weight the cpu backend's gradient (max |diff| < 2e-3 × that gradient's max |element|)", async () => {
    const cpu = await stepGradients('cpu');
    const wasm = await stepGradients('wasm');
    expect(wasm.names).toEqual(cpu.names);
    expect(cpu.names.filter((n) => n.endsWith('depthwise/depthwise_kernel'))).toHaveLength(17);
    expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThan(1e-4 * Math.abs(cpu.loss));
    const maxAbs = (a: Float32Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    cpu.grads.forEach((want, i) => {
      const name = cpu.names[i]!;
      const got = wasm.grads[i]!;
      if (/_project_BN\/beta$/.test(name)) {
        // Exactly zero in theory: a projection's shift passes linearly (residual adds, 1×1 convs) into
        // a BatchNorm whose batch mean removes it. Both backends must give float noise next to gamma's.
        const gamma = maxAbs(cpu.grads[cpu.names.indexOf(name.replace(/beta$/, 'gamma'))]!);
        expect(Math.max(maxAbs(want), maxAbs(got)), name).toBeLessThan(1e-4 * gamma);
        return;
      }
      const scale = maxAbs(want);
      expect(scale, `${name} has a non-zero gradient`).toBeGreaterThan(0);
      expect(want.reduce((m, v, j) => Math.max(m, Math.abs(got[j]! - v)), 0) / scale, name).toBeLessThan(2e-3);
    });
  }, 120_000);
});
