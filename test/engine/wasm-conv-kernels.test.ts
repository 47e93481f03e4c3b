import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend.js';
import { FAST_KERNEL_NAMES, fastConvKernelsActive, registerFastConvKernels, unregisterFastConvKernels } from '../../src/engine/wasm-conv-kernels.js';
import { buildSmallCnn } from '../../src/models/small-cnn.js';
import { buildMlp } from '../../src/models/mlp.js';
import { disposeModel } from '../../src/models/dispose.js';

type Shape4 = [number, number, number, number];
/** Every fast result must satisfy |fast − cpu| ≤ TOLERANCE · max(1, |cpu|), element by element. */
const TOLERANCE = 1e-4;

/** Deterministic, non-uniform values (a transposed or shifted result cannot pass). */
const values = (n: number, phase: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + phase) + 0.25 * Math.cos(i * 1.3));
const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tolerance = TOLERANCE): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    if (!(excess <= worst)) [worst, at] = [excess, i];
  }
  expect(worst, `${what}: element ${at} is ${actual[at]}, cpu gives ${expected[at]}`).toBeLessThanOrEqual(tolerance);
}

interface WasmInternals {
  numDataIds(): number;
}
const wasmDataIds = (): number => (tf.engine().findBackend('wasm') as unknown as WasmInternals).numDataIds();

/**
 * Runs `f` on the cpu backend, then on wasm with the fast kernels; checks that the wasm run leaves
 * no tensor and no wasm buffer behind (after a warm-up call: XNNPACK caches nothing per call here,
 * but a first call may set things up). Returns both results.
 */
async function onBoth(f: () => Float32Array[]): Promise<{ cpu: Float32Array[]; fast: Float32Array[] }> {
  await initBackend('cpu');
  const cpu = tf.tidy(f);
  const info = await initBackend('wasm');
  expect(info.fastKernels).toBe(true);
  expect(fastConvKernelsActive()).toBe(true);
  tf.tidy(f);
  const tensors = tf.memory().numTensors;
  const buffers = wasmDataIds();
  const fast = tf.tidy(f);
  expect(tf.memory().numTensors, 'tensors left behind').toBe(tensors);
  expect(wasmDataIds(), 'wasm buffers left behind').toBe(buffers);
  return { cpu, fast };
}

const read = (...ts: tf.Tensor[]): Float32Array[] => ts.map((t) => Float32Array.from(t.dataSync()));

afterAll(async () => {
  await initBackend('wasm');
});

describe('fast Conv2D gradients on wasm (Conv2DBackpropInput, Conv2DBackpropFilter)', () => {
  // [name, x shape, filter shape, stride, padding]: stride 1/2 × same/valid × odd/even sides × batch 1/3.
  const cases: Array<[string, Shape4, Shape4, number | [number, number], 'same' | 'valid']> = [];
  for (const stride of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      for (const [side, batch] of [[8, 1], [9, 3], [7, 3], [10, 1]] as const) {
        cases.push([`3×3 ${pad} stride ${stride}, ${side}×${side + 1}, batch ${batch}`, [batch, side, side + 1, 3], [3, 3, 3, 4], stride, pad]);
      }
    }
  }
  cases.push(
    ['1×1 same stride 1 (a pointwise conv)', [3, 5, 6, 8], [1, 1, 8, 5], 1, 'same'],
    ['1×1 valid stride 2', [1, 7, 6, 3], [1, 1, 3, 2], 2, 'valid'],
    ['2×2 same stride 1 (even filter: padding falls after)', [3, 6, 7, 2], [2, 2, 2, 3], 1, 'same'],
    ['5×5 same stride 2, mixed sides', [1, 11, 10, 2], [5, 5, 2, 3], 2, 'same'],
    ['2×4 valid stride [3, 2]', [3, 10, 13, 2], [2, 4, 2, 3], [3, 2], 'valid'],
    ['3×3 valid stride 2, a row and column left unread', [1, 10, 10, 4], [3, 3, 4, 2], 2, 'valid'],
    ['filter as large as the input, valid', [3, 4, 4, 2], [4, 4, 2, 3], 1, 'valid'],
  );
  for (const [name, xShape, wShape, stride, pad] of cases) {
    it(`match the cpu backend: ${name}`, async () => {
      const x = values(count(xShape), 0.1);
      const w = values(count(wShape), 0.7);
      const grads = (): Float32Array[] => {
        const xt = tf.tensor4d(x, xShape);
        const wt = tf.tensor4d(w, wShape);
        const outShape = tf.conv2d(xt, wt, stride, pad).shape;
        const upstream = tf.tensor(values(count(outShape), 2.3), outShape);
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), upstream)));
        return read(...g([xt, wt]));
      };
      const { cpu, fast } = await onBoth(grads);
      expectClose(fast[0]!, cpu[0]!, 'dx');
      expectClose(fast[1]!, cpu[1]!, 'dW');
    });
  }

  it('hand NCHW input gradients back to the kernel they replaced', async () => {
    // TF.js's ops only make NHWC gradients, so the kernel is called directly: NCHW dy [2, 4, 7, 6] of x [2, 3, 9, 8].
    const dy = values(2 * 4 * 7 * 6, 0.3);
    const w = values(3 * 3 * 3 * 4, 0.9);
    const attrs = { strides: [1, 1], pad: 'valid', dataFormat: 'NCHW', inputShape: [2, 3, 9, 8] };
    const dx = (): Float32Array[] =>
      tf.tidy(() => read(tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor4d(dy, [2, 4, 7, 6]), filter: tf.tensor4d(w, [3, 3, 3, 4]) }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor));
    const { cpu, fast } = await onBoth(dx);
    expectClose(fast[0]!, cpu[0]!, 'NCHW dx');
  });
});

describe('fast MaxPoolGrad on wasm', () => {
  // [name, x shape, pool size, stride, padding, how the values repeat]
  const cases: Array<[string, Shape4, number, number, 'same' | 'valid', number]> = [
    ['2×2 stride 2 valid, even sides, batch 3', [3, 8, 10, 4], 2, 2, 'valid', 0],
    ['2×2 stride 2 valid, odd sides (last row and column unread), batch 1', [1, 9, 7, 3], 2, 2, 'valid', 0],
    ['2×2 stride 2 same, odd sides', [3, 7, 9, 2], 2, 2, 'same', 0],
    ['3×3 stride 2 same (overlapping windows)', [3, 9, 8, 3], 3, 2, 'same', 0],
    ['3×3 stride 1 same', [1, 6, 7, 2], 3, 1, 'same', 0],
    ['2×2 stride 2 valid with ties: ReLU zeros and repeated values', [3, 8, 8, 5], 2, 2, 'valid', 1],
  ];
  for (const [name, xShape, size, stride, pad, ties] of cases) {
    it(`matches the cpu backend (first maximum of each window): ${name}`, async () => {
      let x = values(count(xShape), 0.5);
      // Ties: clamp at 0 (whole windows of zeros) and round to a few levels (equal maxima).
      if (ties) x = x.map((v) => Math.max(0, Math.round(v * 2) / 2));
      const grads = (): Float32Array[] => {
        const xt = tf.tensor4d(x, xShape);
        const outShape = tf.maxPool(xt, size, stride, pad).shape;
        const upstream = tf.tensor(values(count(outShape), 1.9), outShape);
        return read(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, size, stride, pad), upstream)))(xt));
      };
      const { cpu, fast } = await onBoth(grads);
      expectClose(fast[0]!, cpu[0]!, 'dx', 1e-6);
    });
  }
});

describe('fast BatchMatMul on wasm (transposed operands)', () => {
  // [name, a shape, b shape, transposeA, transposeB]; sizes chosen to take both ways of each case.
  const cases: Array<[string, number[], number[], boolean, boolean]> = [
    ['Aᵀ·B, Dense weight gradient (784×32)ᵀ·(32×128)', [32, 784], [32, 128], true, false],
    ['Aᵀ·B computed as (Bᵀ·A)ᵀ (A wider than B)', [400, 40], [400, 3], true, false],
    ['A·Bᵀ, Dense input gradient (32×128)·(784×128)ᵀ', [32, 128], [784, 128], false, true],
    ['A·Bᵀ with a small B', [50, 20], [3, 20], false, true],
    ['Aᵀ·Bᵀ computed as (B·A)ᵀ', [17, 5], [9, 17], true, true],
    ['Aᵀ·Bᵀ by transposing both (short inner dimension)', [2, 50], [50, 2], true, true],
    ['rank 3 with batch 1', [1, 12, 6], [1, 12, 5], true, false],
    ['batch 3 (falls back to TF.js)', [3, 4, 6], [3, 4, 5], true, false],
    ['1×1 matrices', [1, 1], [1, 1], true, true],
  ];
  for (const [name, aShape, bShape, ta, tb] of cases) {
    it(`matches the cpu backend: ${name}`, async () => {
      const a = values(count(aShape), 0.2);
      const b = values(count(bShape), 1.1);
      const { cpu, fast } = await onBoth(() => read(tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), ta, tb)));
      expectClose(fast[0]!, cpu[0]!, 'product');
    });
  }

  it('gives the same result when the same tensor is used as the right operand under two shapes', async () => {
    // XNNPACK caches a packed right operand by tensor id; graft passes inputs under fresh ids.
    await initBackend('wasm');
    const fast = tf.tidy(() => {
      const b = tf.tensor(values(24, 0.5), [4, 6]);
      const first = tf.matMul(tf.tensor(values(8, 0.1), [4, 2]), b, true, false); // b as [4, 6]
      const second = tf.matMul(tf.tensor(values(12, 0.2), [3, 4]), tf.reshape(b, [4, 6]), false, false);
      const third = tf.matMul(tf.tensor(values(16, 0.3), [8, 2]), tf.reshape(b, [8, 3]), true, false); // same data as [8, 3]
      return read(first, second, third);
    });
    await initBackend('cpu');
    const cpu = tf.tidy(() => {
      const b = tf.tensor(values(24, 0.5), [4, 6]);
      return read(
        tf.matMul(tf.tensor(values(8, 0.1), [4, 2]), b, true, false),
        tf.matMul(tf.tensor(values(12, 0.2), [3, 4]), b),
        tf.matMul(tf.tensor(values(16, 0.3), [8, 2]), tf.reshape(b, [8, 3]), true, false),
      );
    });
    cpu.forEach((c, i) => expectClose(fast[i]!, c, `product ${i}`));
  });
});

describe('fast Tile, Sum, Mean and Identity on wasm', () => {
  const tiles: Array<[number[], number[]]> = [
    [[1, 1, 1, 5], [3, 4, 2, 1]], // BatchNorm's gradient
    [[2, 3], [2, 3]],
    [[3], [4]],
    [[2, 1, 3], [1, 5, 2]],
    [[2, 2], [1, 1]],
    [[2, 0], [3, 2]],
  ];
  for (const [shape, reps] of tiles) {
    it(`Tile [${shape.join(',')}] by [${reps.join(',')}] matches the cpu backend (float32 and int32)`, async () => {
      const x = values(count(shape), 0.4);
      const ints = Int32Array.from(x, (v) => Math.round(v * 100));
      const { cpu, fast } = await onBoth(() => read(tf.tile(tf.tensor(x, shape), reps), tf.tile(tf.tensor(ints, shape, 'int32'), reps)));
      expectClose(fast[0]!, cpu[0]!, 'float32', 0);
      expectClose(fast[1]!, cpu[1]!, 'int32', 0);
    });
  }

  it('Tile of a bool tensor falls back to TF.js', async () => {
    const { cpu, fast } = await onBoth(() => read(tf.cast(tf.tile(tf.tensor([true, false], [2], 'bool'), [3]), 'float32')));
    expectClose(fast[0]!, cpu[0]!, 'bool', 0);
  });

  // [x shape, axes, keepDims]
  const reductions: Array<[number[], number | number[], boolean]> = [
    [[4, 5, 6, 7], [0, 1, 2], false], // BatchNorm statistics
    [[64, 32, 32, 8], [0, 1, 2], false], // 65,536 values a sum: float32 accumulation stays within tolerance
    [[4, 5, 6, 7], [0, 1, 2], true],
    [[3, 5, 6, 7], [1, 2], false], // global average pooling: kept leading axis
    [[6, 9], 0, false], // a Dense bias gradient
    [[6, 9], -2, true],
    [[1, 4, 1, 5], [0, 1, 2], false], // size-1 axes around the reduced one
    [[4, 5, 6], [2], false], // innermost: wasm's own
    [[4, 5, 6], [0, 2], false], // not contiguous: wasm's own
    [[4, 5, 6], [0, 1, 2], false], // everything
  ];
  for (const [shape, axes, keepDims] of reductions) {
    it(`Sum and Mean of [${shape.join(',')}] over ${JSON.stringify(axes)}${keepDims ? ' (keepDims)' : ''} match the cpu backend`, async () => {
      const x = values(count(shape), 0.8);
      const { cpu, fast } = await onBoth(() => {
        const t = tf.tensor(x, shape);
        const sum = tf.sum(t, axes, keepDims);
        const mean = tf.mean(t, axes, keepDims);
        expect(sum.shape).toEqual(mean.shape);
        return [...read(sum, mean), Float32Array.from(sum.shape)];
      });
      expect(Array.from(fast[2]!), 'shape').toEqual(Array.from(cpu[2]!));
      expectClose(fast[0]!, cpu[0]!, 'sum');
      expectClose(fast[1]!, cpu[1]!, 'mean');
    });
  }

  it('Identity shares the memory, and the data lives until its last tensor goes', async () => {
    await initBackend('wasm');
    const buffers = wasmDataIds();
    const a = tf.tensor([1, 2, 3]);
    const b = tf.clone(a);
    expect(wasmDataIds()).toBe(buffers + 1);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    b.dispose();
    expect(wasmDataIds()).toBe(buffers);
  });
});

describe('registration', () => {
  it('replaces the wasm kernels, and unregistering puts the previous ones back', async () => {
    await initBackend('wasm');
    expect(fastConvKernelsActive()).toBe(true);
    const fastConfigs = FAST_KERNEL_NAMES.map((n) => tf.getKernel(n, 'wasm'));
    unregisterFastConvKernels();
    expect(fastConvKernelsActive()).toBe(false);
    const previous = FAST_KERNEL_NAMES.map((n) => tf.getKernel(n, 'wasm'));
    previous.forEach((k, i) => expect(k, FAST_KERNEL_NAMES[i]).not.toBe(fastConfigs[i]));
    expect(registerFastConvKernels()).toBe(true);
    expect(registerFastConvKernels()).toBe(true); // idempotent
    expect(fastConvKernelsActive()).toBe(true);
    unregisterFastConvKernels();
    FAST_KERNEL_NAMES.forEach((n, i) => expect(tf.getKernel(n, 'wasm'), n).toBe(previous[i]));
    registerFastConvKernels();
  });

  it('GRAFT_FAST_KERNELS=0 turns them off, and initBackend says so', async () => {
    const saved = process.env.GRAFT_FAST_KERNELS;
    try {
      process.env.GRAFT_FAST_KERNELS = '0';
      await initBackend('cpu');
      const off = await initBackend('wasm');
      expect(off.fastKernels).toBe(false);
      expect(off.description).not.toMatch(/fast kernels/);
      expect(fastConvKernelsActive()).toBe(false);
      delete process.env.GRAFT_FAST_KERNELS;
      await initBackend('cpu');
      const on = await initBackend('wasm');
      expect(on.fastKernels).toBe(true);
      expect(on.description).toMatch(/fast kernels/);
      expect(fastConvKernelsActive()).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.GRAFT_FAST_KERNELS;
      else process.env.GRAFT_FAST_KERNELS = saved;
    }
  });
});

describe('whole training steps on wasm with the fast kernels', () => {
  /** Every trainable weight's gradient of a cross-entropy, BatchNorm in training mode (the models are built without dropout: its masks differ per backend). */
  async function stepGradients(backend: 'cpu' | 'wasm', build: () => tfl.LayersModel, xShape: number[], classes: number): Promise<{ names: string[]; grads: Float32Array[] }> {
    await initBackend(backend);
    const before = tf.memory().numTensors;
    const model = build();
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const grads = tf.tidy(() => {
      const x = tf.tensor(values(count(xShape), 0.6).map((v) => 0.5 + 0.5 * v), xShape);
      const labels = tf.oneHot(tf.tensor1d(Array.from({ length: xShape[0]! }, (_, i) => i % classes), 'int32'), classes);
      const { grads: g } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, variables);
      return variables.map((v) => Float32Array.from(g[v.name]!.dataSync()));
    });
    const names = model.trainableWeights.map((w) => w.originalName);
    disposeModel(model);
    expect(tf.memory().numTensors, `${backend}: tensors left`).toBe(before);
    return { names, grads };
  }

  const models: Array<[string, () => tfl.LayersModel, number[], number]> = [
    ['small CNN, 32×32×3 (conv-BN-relu-pool ×2, Dense, output)', () => buildSmallCnn({ classes: 10, inputShape: [32, 32, 3], dropout: 0, seed: 3 }), [6, 32, 32, 3], 10],
    ['seed MLP (784 → 128 → 8)', () => buildMlp({ classes: 8, dropout: 0, seed: 3 }), [16, 28, 28], 8],
  ];
  for (const [name, build, xShape, classes] of models) {
    it(`gives every weight the cpu backend's gradient: ${name} (max |diff| ≤ 1e-3 × that gradient's max |element|)`, async () => {
      const cpu = await stepGradients('cpu', build, xShape, classes);
      const fast = await stepGradients('wasm', build, xShape, classes);
      expect(fast.names).toEqual(cpu.names);
      cpu.grads.forEach((g, i) => {
        const scale = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        expect(scale, `${cpu.names[i]}: gradient is all zeros`).toBeGreaterThan(0);
        const diff = g.reduce((m, v, j) => Math.max(m, Math.abs(v - fast.grads[i]![j]!)), 0);
        expect(diff, `${cpu.names[i]}: max |diff| ${diff} against max |grad| ${scale}`).toBeLessThanOrEqual(1e-3 * scale);
      });
    });
  }
});
