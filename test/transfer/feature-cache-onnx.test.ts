import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../src/engine/rng.js';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { buildMobileNetV2 } from '../../src/models/mobilenetv2.js';
import { withPreprocessing } from '../../src/models/backbones.js';
import { disposeModel } from '../../src/models/dispose.js';
import { transfer, type TransferredModel } from '../../src/transfer/transfer.js';
import { FeatureCache, findSplit } from '../../src/transfer/feature-cache.js';
import { fineTune, type PhaseResult } from '../../src/transfer/fine-tune.js';
import { evaluate } from '../../src/evaluate/evaluate.js';
import type { Dataset } from '../../src/data/dataset.js';
import { useBackend, weightValues } from '../helpers.js';

beforeAll(useBackend);

/**
 * The feature cache's frozen base on onnxruntime: features equal TF.js's to float32 rounding, and
 * a transfer phase trained on them ends where one trained on TF.js features does.
 */
const ort = await loadOnnxRuntime();
const missing = typeof ort === 'string' ? ort : undefined;
if (missing) console.log(`onnxruntime feature-cache tests skipped: ${missing}`);

const SIDE = 32;

/** 32×32 RGB images whose class is the brighter half (left or right), in [0, 1]. */
function images(n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(n * SIDE * SIDE * 3);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let r = 0; r < SIDE; r++) {
      for (let c = 0; c < SIDE; c++) {
        const bright = (c < SIDE / 2) === (y[i] === 0);
        for (let k = 0; k < 3; k++) x[((i * SIDE + r) * SIDE + c) * 3 + k] = (bright ? 0.5 : 0) + rng.next() * 0.5;
      }
    }
  }
  return { x, y, sampleShape: [SIDE, SIDE, 3], classNames: ['left', 'right'], pixelRange: 'unit', source: `halves-${seed}` };
}

/** MobileNetV2 α 0.35 with random BatchNorm statistics (so BN is not the identity), plus a small head. */
async function mobileNetTransfer(): Promise<TransferredModel> {
  const base = buildMobileNetV2({ alpha: 0.35, inputShape: [SIDE, SIDE, 3], seed: 3 });
  const rng = new Rng(9);
  for (const w of base.weights) {
    if (!/moving_(mean|variance)$/.test(w.originalName)) continue;
    const variance = w.originalName.endsWith('variance');
    w.write(tf.tensor(Float32Array.from({ length: w.shape[0]! }, () => (variance ? 0.5 + rng.next() : (rng.next() - 0.5) * 0.2)), w.shape as number[]));
  }
  const source = withPreprocessing(base, 'tf');
  const t = await transfer(source, { cut: -1, head: { classes: 2, pooling: 'avg', hidden: 8 }, seed: 1 });
  disposeModel(source);
  return t;
}

const train = images(48, 1);
const validation = images(16, 2);
const test = images(32, 3);

afterEach(() => {
  delete process.env.GRAFT_ENGINE;
});

describe.skipIf(missing !== undefined)('feature cache on onnxruntime', () => {
  it('computes the features TF.js computes, and says which engine did', async () => {
    const t = await mobileNetTransfer();
    const search = findSplit(t.model);
    if (!('split' in search)) throw new Error(search.reason);
    const onnx = new FeatureCache(t.model, search.split, 'onnxruntime');
    const tfjs = new FeatureCache(t.model, search.split, 'tfjs');
    await onnx.precompute([train, train]);
    await tfjs.precompute([train]);
    expect(onnx.engine).toEqual({ engine: 'onnxruntime' });
    expect(tfjs.engine).toEqual({ engine: 'tfjs', reason: 'TF.js was asked for' });
    expect(onnx.images).toBe(train.y.length);
    const a = onnx.features(train).x;
    const b = tfjs.features(train).x;
    expect(a.length).toBe(train.y.length * search.split.tensor.shape.slice(1).reduce<number>((p, d) => p * d!, 1));
    let scale = 0;
    let worst = 0;
    for (let i = 0; i < a.length; i++) {
      scale = Math.max(scale, Math.abs(b[i]!));
      worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    }
    expect(scale).toBeGreaterThan(0);
    expect(worst / scale).toBeLessThan(1e-4);
    onnx.release();
    tfjs.release();
    disposeModel(t.model);
  });

  it('a frozen phase trains the same on onnxruntime features as on TF.js features', async () => {
    const run = async (engine: 'auto' | 'tfjs'): Promise<{ phase: PhaseResult; weights: Map<string, Float32Array>; accuracy: number; messages: string[] }> => {
      process.env.GRAFT_ENGINE = engine;
      const t = await mobileNetTransfer();
      const messages: string[] = [];
      const [phase] = await fineTune(t, train, {
        seed: 4,
        batchSize: 16,
        validation,
        frozen: { epochs: 3, optimizer: { name: 'adam', learningRate: 0.01 } },
        unfrozen: { epochs: 0 },
        callbacks: { onMessage: (m) => messages.push(m) },
      });
      const result = { phase: phase!, weights: weightValues(t.model), accuracy: evaluate(t.model, test).accuracy, messages };
      disposeModel(t.model);
      return result;
    };
    const fast = await run('auto');
    const slow = await run('tfjs');
    expect(fast.phase.featureCache).toMatchObject({ layer: 'head_pool', images: 64, engine: 'onnxruntime' });
    expect(slow.phase.featureCache).toMatchObject({ layer: 'head_pool', images: 64, engine: 'tfjs', engineReason: 'TF.js was asked for' });
    expect(fast.messages.join('\n')).toMatch(/images\/s, onnxruntime\)/);
    fast.phase.history.forEach((h, i) => {
      const s = slow.phase.history[i]!;
      expect(Math.abs(h.loss - s.loss) / Math.max(1e-3, s.loss), `loss of epoch ${i + 1}`).toBeLessThan(1e-3);
      expect(Math.abs(h.valLoss! - s.valLoss!) / Math.max(1e-3, s.valLoss!), `validation loss of epoch ${i + 1}`).toBeLessThan(1e-3);
    });
    let worst = 0;
    for (const [name, w] of fast.weights) {
      const v = slow.weights.get(name)!;
      for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(w[i]! - v[i]!));
    }
    expect(worst).toBeLessThan(1e-3);
    expect(Math.abs(fast.accuracy - slow.accuracy)).toBeLessThanOrEqual(1 / test.y.length);
  });

  it('falls back to TF.js, with the reason, for a base onnxruntime cannot run', async () => {
    const input = tfl.input({ shape: [4, 4, 2] });
    const up = tfl.layers.upSampling2d({ size: [2, 2], name: 'up', trainable: false }).apply(tfl.layers.conv2d({ filters: 2, kernelSize: 1, name: 'c', trainable: false }).apply(input)) as tfl.SymbolicTensor;
    const pooled = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(up) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 2, activation: 'softmax', name: 'out' }).apply(pooled) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    const search = findSplit(model);
    if (!('split' in search)) throw new Error(search.reason);
    const cache = new FeatureCache(model, search.split, 'onnxruntime');
    const data: Dataset = { x: new Float32Array(3 * 32).fill(0.5), y: new Int32Array(3), sampleShape: [4, 4, 2], classNames: ['a', 'b'], pixelRange: 'unit', source: 'flat' };
    await cache.precompute([data]);
    expect(cache.engine?.engine).toBe('tfjs');
    expect(cache.engine?.reason).toMatch(/layer up is a UpSampling2D/);
    expect(cache.split.layer.name).toBe('gap');
    expect(cache.features(data).x.length).toBe(3 * 2);
    cache.release();
    disposeModel(model);
  });
});
