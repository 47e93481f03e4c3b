import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { buildMlp } from '../../src/models/mlp.js';
import { fit } from '../../src/train/fit.js';
import { evaluate } from '../../src/evaluate/evaluate.js';
import type { Dataset } from '../../src/data/dataset.js';
import { sameValues, syntheticDataset, useBackend, weightValues } from '../helpers.js';

beforeAll(useBackend);

const data4 = syntheticDataset(128, 4, 11);
const mlp = (classes: number, seed = 1): tfl.LayersModel => buildMlp({ classes, inputShape: [8, 8], hidden: 16, seed });

describe('fit', () => {
  it('learns a learnable task', async () => {
    const model = mlp(4);
    const r = await fit(model, data4, { epochs: 15, optimizer: { name: 'adam', learningRate: 0.01 } });
    expect(r.stopReason).toBe('completed');
    expect(r.history).toHaveLength(15);
    expect(r.history[14]!.loss).toBeLessThan(r.history[0]!.loss);
    expect(evaluate(model, syntheticDataset(64, 4, 99)).accuracy).toBeGreaterThan(0.9);
  });

  it('gives identical weights for the same seed, different for another', async () => {
    const run = async (seed: number): Promise<Map<string, Float32Array>> => {
      const m = mlp(4, 5);
      await fit(m, data4, { epochs: 2, seed });
      return weightValues(m);
    };
    const [a, b, c] = [await run(1), await run(1), await run(2)];
    for (const [k, v] of a) expect(sameValues(v, b.get(k)!), k).toBe(true);
    expect([...a].some(([k, v]) => !sameValues(v, c.get(k)!))).toBe(true);
  });

  it('draws a new order every epoch, each one a permutation of the samples', async () => {
    // A fixed order (what Keras 3's fit(shuffle=True) gives after set_random_seed) fixes the
    // BatchNorm batches and changes what a fine-tune learns; graft reshuffles before every epoch.
    const n = 64;
    const size = 64;
    const data: Dataset = { ...data4, x: data4.x.slice(0, n * size), y: data4.y.slice(0, n) };
    for (let i = 0; i < n; i++) data.x[i * size] = i / n; // each sample's first pixel names it
    const seen: number[][] = [];
    await fit(mlp(4), data, {
      epochs: 3,
      batchSize: 16,
      engine: 'tfjs',
      beforeEpoch: () => void seen.push([]),
      augment: (x, count) => {
        for (let k = 0; k < count; k++) seen[seen.length - 1]!.push(Math.round(x[k * size]! * n));
      },
    });
    expect(seen).toHaveLength(3);
    for (const order of seen) expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(seen[1]).not.toEqual(seen[0]);
    expect(seen[2]).not.toEqual(seen[1]);
  });

  it('refuses labels the output cannot hold (labels 7-9 into an 8-way softmax)', async () => {
    const bad: Dataset = { ...data4, y: Int32Array.from(data4.y, (v) => v + 6), classNames: Array.from({ length: 10 }, (_, i) => `c${i}`) };
    const model = buildMlp({ classes: 8, inputShape: [8, 8], hidden: 4 });
    await expect(fit(model, bad, { epochs: 1 })).rejects.toMatchObject({ code: 'LABEL_OUT_OF_RANGE', message: expect.stringMatching(/label 9 .*8 classes \(0\.\.7\).*exclude=sandal,shirt/) });
  });

  it('refuses from-logits on a softmax output', async () => {
    await expect(fit(mlp(4), data4, { epochs: 1, fromLogits: true })).rejects.toMatchObject({ code: 'LOSS_ACTIVATION_MISMATCH', message: expect.stringMatching(/softmax/) });
  });

  it('refuses raw 0..255 pixels', async () => {
    const raw: Dataset = { ...data4, x: data4.x.map((v) => v * 255), pixelRange: 'raw' };
    await expect(fit(mlp(4), raw, { epochs: 1 })).rejects.toMatchObject({ code: 'UNNORMALIZED_INPUT' });
  });

  it('stops on a non-finite loss, keeps the last good weights and suggests a lower rate', async () => {
    const model = mlp(4);
    const messages: string[] = [];
    const r = await fit(model, data4, { epochs: 5, optimizer: { learningRate: 1e38 }, callbacks: { onMessage: (m) => messages.push(m) } });
    expect(r.stopReason).toBe('non-finite-loss');
    expect(r.message).toMatch(/lower learning rate/);
    expect(messages).toHaveLength(1);
    for (const w of model.weights) expect(Array.from(w.read().dataSync()).every(Number.isFinite), w.name).toBe(true);
  });

  it('stops early on validation loss and restores the best epoch', async () => {
    const model = mlp(4);
    const r = await fit(model, data4, { epochs: 40, optimizer: { name: 'adam', learningRate: 0.05 }, validation: syntheticDataset(32, 4, 3), earlyStopping: { patience: 2 } });
    expect(r.stopReason).toBe('early-stopping');
    expect(r.history.length).toBeLessThan(40);
    expect(r.bestEpoch).toBeDefined();
    const best = r.history[r.bestEpoch! - 1]!.valLoss!;
    expect(Math.min(...r.history.map((h) => h.valLoss!))).toBe(best);
  });

  it('requires validation data for early stopping and something trainable', async () => {
    await expect(fit(mlp(4), data4, { epochs: 1, earlyStopping: { patience: 1 } })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    const frozen = mlp(4);
    frozen.layers.forEach((l) => (l.trainable = false));
    await expect(fit(frozen, data4, { epochs: 1 })).rejects.toThrow(/nothing to train/);
  });
});
