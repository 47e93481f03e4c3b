import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildMlp } from '../../src/models/mlp.js';
import { fit } from '../../src/train/fit.js';
import { DIVERGENCE, divergedEpoch, explodedLoss, suggestLearningRate } from '../../src/train/divergence.js';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { liveTensors, sameValues, syntheticDataset, useBackend, weightValues } from '../helpers.js';

beforeAll(useBackend);

const ort = await loadOnnxRuntime();
if (typeof ort === 'string') console.log(`divergence on the onnxruntime engine not tested: ${ort}`);
const engines = typeof ort === 'string' ? (['tfjs'] as const) : (['tfjs', 'onnxruntime'] as const);

const data4 = syntheticDataset(128, 4, 11);
const mlp = (): tfl.LayersModel => buildMlp({ classes: 4, inputShape: [8, 8], hidden: 16, seed: 1 });

describe('suggestLearningRate', () => {
  it('a tenth of the rate, at most the usual one, rounded down to 1 or 3 × a power of ten', () => {
    expect(suggestLearningRate(100, 'sgd')).toBe(0.01);
    expect(suggestLearningRate(1e30, 'sgd')).toBe(0.01);
    expect(suggestLearningRate(1e38, 'adam')).toBe(0.001);
    expect(suggestLearningRate(0.05, 'sgd')).toBe(0.003);
    expect(suggestLearningRate(0.01, 'sgd')).toBe(0.001);
    expect(suggestLearningRate(3e-4, 'adam')).toBe(3e-5);
    expect(suggestLearningRate(1e-5, 'sgd')).toBe(1e-6);
    // Written as a person would: never 1.0000000000000001e+29 or 0.0030000000000000005.
    for (const lr of [1e30, 0.07, 0.003, 7e-9]) expect(String(suggestLearningRate(lr, 'sgd'))).toMatch(/^(0\.0*[13]|[13]e-\d+)$/);
  });
});

describe('the divergence rule', () => {
  it('fires on a loss 100× the yardstick, and on two high epochs that do not fall', () => {
    expect(explodedLoss(DIVERGENCE.explode * 2 * 1.01, 2)).toMatch(/grew to 202, over 100× its starting level 2/);
    expect(explodedLoss(DIVERGENCE.explode * 2 * 0.99, 2)).toBeUndefined();
    expect(divergedEpoch(39.5, 39.4, 2)).toMatch(/stayed above 10× .* \(39\.4, then 39\.5\)/);
    // Falling by more than a tenth: still recovering, not diverged.
    expect(divergedEpoch(30, 39.4, 2)).toBeUndefined();
    expect(divergedEpoch(39.5, undefined, 2)).toBeUndefined();
    expect(divergedEpoch(19, 39.4, 2)).toBeUndefined();
  });
});

describe.each(engines)('fit on %s', (engine) => {
  it('stops a run that diverges without NaN (lr 100), keeps the starting weights, suggests a sane rate', async () => {
    const model = mlp();
    const before = weightValues(model);
    const messages: string[] = [];
    const tensors = liveTensors();
    const r = await fit(model, data4, { epochs: 5, engine, optimizer: { learningRate: 100 }, callbacks: { onMessage: (m) => messages.push(m) } });
    expect(r.engine?.engine).toBe(engine);
    expect(r.stopReason).toBe('diverged');
    expect(r.history).toHaveLength(0);
    expect(r.guard).toMatchObject({ epoch: 1, suggestedLearningRate: 0.01 });
    expect(r.message).toMatch(/^Phase "train", epoch 1: training diverged: the loss grew to [\d.e+]+, over 100× its starting level [\d.]+, with sgd\(lr=100\)\. .*Try a lower learning rate, e\.g\. 0\.01\.$/);
    expect(messages).toEqual([r.message]);
    for (const [name, values] of weightValues(model)) expect(sameValues(values, before.get(name)!), name).toBe(true);
    expect(liveTensors()).toBe(tensors);
    model.dispose();
  });

  it('catches a slower blow-up (lr 10) by its second high epoch', async () => {
    const r = await fit(mlp(), data4, { epochs: 5, engine, optimizer: { learningRate: 10 } });
    expect(r.stopReason).toBe('diverged');
    expect(r.message).toMatch(/epoch 2: training diverged: the loss stayed above 10×/);
    expect(r.history).toHaveLength(1);
  });

  it('leaves healthy runs alone: the usual rate, a high rate that recovers, and a high but honest starting loss', async () => {
    expect((await fit(mlp(), data4, { epochs: 5, engine, optimizer: { learningRate: 0.01 } })).stopReason).toBe('completed');
    expect((await fit(mlp(), data4, { epochs: 5, engine, optimizer: { learningRate: 1 } })).stopReason).toBe('completed');
    // A confident, wrong head: the loss starts far above chance (ln 4) and falls steadily.
    const hot = mlp();
    const out = hot.layers[hot.layers.length - 1]!;
    out.setWeights(tf.tidy(() => out.getWeights().map((w) => tf.mul(w, 1000))));
    const r = await fit(hot, data4, { epochs: 8, engine, optimizer: { learningRate: 1e-4 } });
    expect(r.stopReason).toBe('completed');
    expect(r.history[0]!.loss).toBeGreaterThan(DIVERGENCE.explode * Math.log(4));
    expect(r.history[7]!.loss).toBeLessThan(r.history[0]!.loss / 10);
  });

  it('an interrupted fit resumed from its checkpoint judges divergence against the same starting loss', async () => {
    const whole = await fit(mlp(), data4, { epochs: 5, engine, batchSize: 16, optimizer: { learningRate: 100 } });
    expect(whole.stopReason).toBe('diverged');
    const model = mlp();
    let batches = 0;
    // Stops before the third batch of epoch 1: the first batch's loss must travel in the checkpoint.
    const signal = { get aborted(): boolean { return batches++ >= 2; } };
    const cut = await fit(model, data4, { epochs: 5, engine, batchSize: 16, optimizer: { learningRate: 100 }, signal });
    expect(cut.stopReason).toBe('interrupted');
    expect(cut.checkpoint!.startLoss).toBeGreaterThan(Math.log(4));
    const resumed = await fit(model, data4, { epochs: 5, engine, batchSize: 16, optimizer: { learningRate: 100 }, resumeFrom: cut.checkpoint! });
    expect(resumed.stopReason).toBe('diverged');
    expect(resumed.message).toBe(whole.message);
  });

  it('NaN still stops as non-finite, with a readable suggestion', async () => {
    const r = await fit(mlp(), data4, { epochs: 3, engine, optimizer: { learningRate: 1e30 } });
    expect(r.stopReason).toBe('non-finite-loss');
    expect(r.message).toMatch(/not finite.*e\.g\. 0\.01\.$/);
    expect(r.message).not.toMatch(/e\+29/);
  });

  it('clamps a batch size above the sample count: the same weights as one batch of all samples, and says so', async () => {
    const a = mlp();
    const b = mlp();
    const messages: string[] = [];
    const ra = await fit(a, data4, { epochs: 2, engine, batchSize: 1e7, callbacks: { onMessage: (m) => messages.push(m) } });
    await fit(b, data4, { epochs: 2, engine, batchSize: 128 });
    expect(ra.stopReason).toBe('completed');
    expect(messages).toEqual(['Phase "train": batch size 10000000 is more than the 128 training samples; each step uses all 128.']);
    const wb = weightValues(b);
    for (const [name, values] of weightValues(a)) expect(sameValues(values, wb.get(name)!), name).toBe(true);
  });
});
