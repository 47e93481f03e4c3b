import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { fit, type FitOptions } from '../../src/train/fit.js';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnx/runtime.js';
import { GraphStepper } from '../../src/train/onnx/graph-stepper.js';
import { describeOutput } from '../../src/train/loss.js';
import { resolveOptimizer } from '../../src/train/optimizer.js';
import type { Dataset } from '../../src/data/dataset.js';
import { sameValues, syntheticDataset, useBackend, weightValues } from '../helpers.js';
import { expectSameTraining, trainOnBoth } from './engine-agreement.js';

beforeAll(useBackend);

/**
 * The onnxruntime training path must train the same model as TF.js: same losses per epoch and
 * same final weights, to float32 rounding, for every activation, head, optimizer and freezing
 * setting it accepts. Tolerances: weights 2e-5 relative to the largest weight of the layer, epoch
 * losses 1e-4 relative (sums over batches of float32 values computed in another order).
 */
const ort = await loadOnnxRuntime();
const missing = typeof ort === 'string' ? ort : undefined;
if (missing) console.log(`onnxruntime engine tests skipped: ${missing}`);

const data3 = syntheticDataset(96, 3, 7, 6);
const data2 = syntheticDataset(96, 2, 8, 6);

type Head = 'softmax' | 'sigmoid' | 'linear';

function model(hidden: string, head: Head, classes: number, dropout = 0.25): tfl.LayersModel {
  const m = tfl.sequential({ name: 'm' });
  m.add(tfl.layers.flatten({ inputShape: [6, 6], name: 'flat' }));
  m.add(tfl.layers.dense({ units: 10, activation: hidden as 'relu', name: 'h1', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }), biasInitializer: 'zeros' }));
  m.add(tfl.layers.dropout({ rate: dropout, name: 'drop' }));
  m.add(tfl.layers.dense({ units: 7, activation: hidden as 'relu', name: 'h2', kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }));
  const units = head === 'sigmoid' ? 1 : classes;
  m.add(tfl.layers.dense({ units, activation: head, name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }) }));
  return m;
}

describe.skipIf(missing !== undefined)('onnxruntime engine agrees with TF.js', () => {
  for (const act of ['linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'tanh', 'softplus', 'softsign', 'swish', 'gelu']) {
    it(`hidden ${act}, softmax head, SGD (with dropout)`, async () => {
      const r = await trainOnBoth(() => model(act, 'softmax', 3), data3, { epochs: 3, batchSize: 16, seed: 2, optimizer: { name: 'sgd', learningRate: 0.1 } });
      expectSameTraining(r, act);
    });
  }

  for (const head of ['softmax', 'sigmoid', 'linear'] as const) {
    for (const optimizer of [{ name: 'sgd' as const, learningRate: 0.05, momentum: 0.9 }, { name: 'adam' as const, learningRate: 0.01 }]) {
      const data = head === 'sigmoid' ? data2 : data3;
      it(`${head} head, ${optimizer.name}${optimizer.momentum ? ' with momentum' : ''}`, async () => {
        // 90 of 96 samples: the last batch of each epoch is short (dynamic batch size).
        const part: Dataset = { ...data, x: data.x.subarray(0, 90 * 36), y: data.y.subarray(0, 90) };
        const r = await trainOnBoth(() => model('relu', head, 3), part, { epochs: 3, batchSize: 16, seed: 4, optimizer });
        expectSameTraining(r, `${head}/${optimizer.name}`);
      });
    }
  }

  it('frozen lower layers and per-layer learning rates (discriminative)', async () => {
    const r = await trainOnBoth(() => model('elu', 'softmax', 3), data3, { epochs: 2, batchSize: 8, seed: 1, optimizer: { name: 'adam', learningRate: 0.01 }, learningRateScale: (l) => (l.name === 'out' ? 1 : 0.3) }, (m) => {
      m.getLayer('h1').trainable = false;
    });
    expectSameTraining(r, 'frozen h1');
    const frozenBefore = r.wa.get('h1/kernel')!;
    expect(sameValues(frozenBefore, r.wb.get('h1/kernel')!)).toBe(true);
  });

  it('gradual unfreezing (trainability changing between epochs)', async () => {
    const unfreeze = (m: tfl.LayersModel) => (epoch: number) => {
      m.getLayer('h1').trainable = epoch >= 3;
      m.getLayer('h2').trainable = epoch >= 2;
    };
    const a = model('tanh', 'softmax', 3);
    const b = model('tanh', 'softmax', 3);
    b.setWeights(a.getWeights());
    const opts: FitOptions = { epochs: 3, batchSize: 16, seed: 3, optimizer: { name: 'sgd', learningRate: 0.05, momentum: 0.5 } };
    const ra = await fit(a, data3, { ...opts, engine: 'tfjs', beforeEpoch: unfreeze(a) });
    const rb = await fit(b, data3, { ...opts, engine: 'onnxruntime', beforeEpoch: unfreeze(b) });
    expectSameTraining({ ra, rb, wa: weightValues(a), wb: weightValues(b) }, 'gradual');
  });

  it('a model nested inside another (transfer reuses models this way)', async () => {
    const make = (): tfl.LayersModel => {
      const base = tfl.sequential({ name: 'base', layers: [tfl.layers.flatten({ inputShape: [6, 6] }), tfl.layers.dense({ units: 9, activation: 'selu', name: 'b1', kernelInitializer: tfl.initializers.glorotUniform({ seed: 8 }) })] });
      const input = tfl.input({ shape: [6, 6] });
      const out = tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'head', kernelInitializer: tfl.initializers.glorotUniform({ seed: 9 }) }).apply(base.apply(input)) as tfl.SymbolicTensor;
      return tfl.model({ inputs: input, outputs: out, name: 'outer' });
    };
    expectSameTraining(await trainOnBoth(make, data2, { epochs: 2, batchSize: 12, seed: 6, optimizer: { name: 'adam', learningRate: 0.003 } }), 'nested');
  });

  it('a head on pooled features (GlobalAveragePooling2D → Dense), as on a cached backbone', async () => {
    const n = 80;
    const x = new Float32Array(n * 3 * 3 * 4);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 2;
      for (let j = 0; j < 36; j++) x[i * 36 + j] = ((i * 7 + j * 13) % 17) / 17 * (j % 4 === y[i]! * 2 ? 1 : 0.4);
    }
    const pooled: Dataset = { x, y, sampleShape: [3, 3, 4], classNames: ['a', 'b'], pixelRange: 'unit', source: 'pooled' };
    const make = (): tfl.LayersModel =>
      tfl.sequential({
        layers: [
          tfl.layers.globalAveragePooling2d({ inputShape: [3, 3, 4], name: 'gap' }),
          tfl.layers.dense({ units: 5, activation: 'relu', name: 'd1', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
          tfl.layers.dense({ units: 2, activation: 'softmax', name: 'd2', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
        ],
      });
    expectSameTraining(await trainOnBoth(make, pooled, { epochs: 3, batchSize: 16, seed: 2, optimizer: { name: 'adam', learningRate: 0.02 } }), 'pooled');
  });
});

describe.skipIf(missing !== undefined)('onnxruntime engine: choosing it', () => {
  it('auto trains a Dense stack on onnxruntime and a CNN on TF.js, saying why', async () => {
    const dense = await fit(model('relu', 'softmax', 3), data3, { epochs: 1, engine: 'auto' });
    expect(dense.engine).toEqual({ engine: 'onnxruntime' });
    const cnn = tfl.sequential({
      layers: [tfl.layers.reshape({ targetShape: [6, 6, 1], inputShape: [6, 6] }), tfl.layers.conv2d({ filters: 2, kernelSize: 3, name: 'conv' }), tfl.layers.flatten(), tfl.layers.dense({ units: 3, activation: 'softmax' })],
    });
    const r = await fit(cnn, data3, { epochs: 1, engine: 'auto' });
    expect(r.engine?.engine).toBe('tfjs');
    expect(r.engine?.reason).toMatch(/Reshape|Conv2D/);
    await expect(fit(cnn, data3, { epochs: 1, engine: 'onnxruntime' })).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: expect.stringMatching(/cannot train .*--engine tfjs/) });
  });

  it('says what to do when onnxruntime refuses the generated graph', async () => {
    const m = model('relu', 'softmax', 3);
    const refusing = { ...(ort as OrtModule), InferenceSession: { create: () => Promise.reject(new Error('Load model failed: bad graph')) } } as unknown as OrtModule;
    const stepper = new GraphStepper(refusing, m, describeOutput(m), resolveOptimizer({ name: 'sgd', learningRate: 0.1 }), undefined);
    await expect(stepper.refresh()).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: expect.stringMatching(/refused graft's training graph for m \(Load model failed: bad graph\).*--engine tfjs/) });
    stepper.dispose();
  });

  it('resumes an interrupted onnxruntime fit bit for bit', async () => {
    const opts: FitOptions = { epochs: 3, batchSize: 16, seed: 9, optimizer: { name: 'adam', learningRate: 0.01 }, engine: 'onnxruntime' };
    const whole = model('relu', 'softmax', 3);
    const start = whole.getWeights().map((t) => t.clone());
    await fit(whole, data3, opts);
    const parted = model('relu', 'softmax', 3);
    parted.setWeights(start);
    let batches = 0;
    const signal = { get aborted() { return batches >= 8; } };
    const first = await fit(parted, data3, { ...opts, signal, callbacks: { onBatchProgress: () => undefined } , beforeEpoch: () => undefined, augment: (_x, _m) => void batches++ });
    expect(first.stopReason).toBe('interrupted');
    const again = model('relu', 'softmax', 3);
    const rest = await fit(again, data3, { ...opts, beforeEpoch: () => undefined, resumeFrom: first.checkpoint! });
    expect(rest.stopReason).toBe('completed');
    const [a, b] = [weightValues(whole), weightValues(again)];
    for (const [k, v] of a) expect(sameValues(v, b.get(k)!), k).toBe(true);
  });
});
