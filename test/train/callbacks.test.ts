import { beforeAll, describe, expect, it } from 'vitest';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildMlp } from '../../src/models/mlp.js';
import { fit, type FitOptions } from '../../src/train/fit.js';
import type { FitCheckpoint } from '../../src/train/checkpoint.js';
import type { EpochRecord, FitResult } from '../../src/train/types.js';
import { ReduceOnPlateau } from '../../src/train/callbacks/reduce-on-plateau.js';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { buildSmallCnn } from '../../src/models/small-cnn.js';
import { transfer } from '../../src/transfer/transfer.js';
import { fineTune } from '../../src/transfer/fine-tune.js';
import { lossAndAccuracy } from '../../src/train/infer.js';
import { describeOutput } from '../../src/train/loss.js';
import type { Dataset } from '../../src/data/dataset.js';
import { liveTensors, sameValues, syntheticDataset, thrown, useBackend, weightValues } from '../helpers.js';
import { fitWithStops, stopAfter } from './stops.js';

beforeAll(useBackend);

const ort = await loadOnnxRuntime();
const engines = typeof ort === 'string' ? (['tfjs'] as const) : (['tfjs', 'onnxruntime'] as const);
if (typeof ort === 'string') console.log(`callbacks on onnxruntime skipped: ${ort}`);

const record = (epoch: number, valLoss: number, valAccuracy = 0): EpochRecord => ({ phase: 'p', epoch, loss: 1, accuracy: 0, valLoss, valAccuracy, learningRate: 0.1, seconds: 0 });

describe('ReduceOnPlateau (Keras semantics)', () => {
  it('drops after `patience` flat epochs, waits out the cooldown, stops at the minimum rate', () => {
    const r = new ReduceOnPlateau({ factor: 0.5, patience: 2, cooldown: 1, minDelta: 0, minLearningRate: 0.02 });
    const losses = [1.0, 0.9, 0.95, 0.92, 0.91, 0.95, 0.96, 0.97, 0.98, 0.99, 0.99, 0.5];
    // Worked by hand from Keras's on_epoch_end: epoch 4 is the 2nd without improvement (0.1 → 0.05);
    // epoch 5 ends the cooldown and counts 1; epoch 6 counts 2 (→ 0.025); epoch 7 ends the
    // cooldown, 8 drops to the floor max(0.0125, 0.02); at the floor nothing drops any more.
    const got = losses.map((l, i) => r.update(record(i + 1, l), 0.1));
    // The floor's factor is 0.02 / 0.1, one rounding off 0.2.
    expect(got).toEqual([undefined, undefined, undefined, 0.5, undefined, 0.25, undefined, expect.closeTo(0.2, 15), undefined, undefined, undefined, undefined]);
    expect(r.state()).toEqual({ best: 0.5, wait: 0, cooldownLeft: 0, rateFactor: expect.closeTo(0.2, 15) });
  });

  it('counts no epoch during a cooldown of 2', () => {
    const r = new ReduceOnPlateau({ factor: 0.5, patience: 1, cooldown: 2 });
    // Epoch 2 drops; 3 is in cooldown; 4 ends it and counts one flat epoch: drop; likewise 6.
    expect([1, 1, 1, 1, 1, 1].map((l, i) => r.update(record(i + 1, l), 1))).toEqual([undefined, 0.5, undefined, 0.25, undefined, 0.125]);
  });

  it('watches accuracy upwards', () => {
    const r = new ReduceOnPlateau({ monitor: 'val_accuracy', patience: 1 });
    expect([0.5, 0.6, 0.6, 0.7, 0.65].map((a, i) => r.update(record(i + 1, 9, a), 1))).toEqual([undefined, undefined, 0.1, undefined, expect.closeTo(0.01, 12)]);
  });

  it('refuses bad settings and a metric the epoch lacks', () => {
    expect(thrown(() => new ReduceOnPlateau({ factor: 1 })).message).toMatch(/factor.*received 1/);
    expect(thrown(() => new ReduceOnPlateau({ monitor: 'val_f2' as 'val_loss' })).message).toMatch(/val_f2.*val_loss, val_accuracy/);
    const r = new ReduceOnPlateau({ monitor: 'val_auc' });
    expect(thrown(() => r.update(record(1, 1), 1)).message).toMatch(/val_auc.*binary tasks only/);
  });
});

const data = syntheticDataset(100, 4, 21);
const validation = syntheticDataset(40, 4, 22);
const mlp = (dropout = 0.3): tfl.LayersModel => buildMlp({ classes: 4, inputShape: [8, 8], hidden: 12, dropout, seed: 3 });

describe('fit with callbacks that act', () => {
  it('keepBest ends with the best epoch by the chosen metric and says which', async () => {
    const model = mlp();
    const seen = new Map<number, Map<string, Float32Array>>();
    // A rate high enough that validation loss goes back up: the best epoch is not the last.
    const r = await fit(model, data, { epochs: 6, batchSize: 16, seed: 2, optimizer: { name: 'sgd', learningRate: 1.5, momentum: 0.9 }, validation, keepBest: { monitor: 'val_loss' }, engine: 'tfjs', callbacks: { onEpochEnd: (e) => void seen.set(e.epoch, weightValues(model)) } });
    const losses = r.history.map((e) => e.valLoss!);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    expect(best).toBeLessThan(r.history.length);
    expect(r.keptBest).toEqual({ epoch: best, monitor: 'val_loss', value: losses[best - 1] });
    const now = weightValues(model);
    for (const [name, v] of seen.get(best)!) expect(sameValues(v, now.get(name)!), `weight ${name}`).toBe(true);
    model.dispose();
  });

  it('early stopping watches val_accuracy when told to', async () => {
    const model = mlp();
    const r = await fit(model, data, { epochs: 30, batchSize: 16, seed: 2, optimizer: { name: 'sgd', learningRate: 0.5 }, validation, earlyStopping: { patience: 2, monitor: 'val_accuracy' }, engine: 'tfjs' });
    expect(r.stopReason).toBe('early-stopping');
    const acc = r.history.map((e) => e.valAccuracy!);
    const best = acc.indexOf(Math.max(...acc)) + 1;
    expect(r.bestEpoch).toBe(best);
    expect(r.history).toHaveLength(best + 2);
    // By validation loss the same run would have chosen otherwise (else this test could not tell).
    const losses = r.history.map((e) => e.valLoss!);
    expect(losses.indexOf(Math.min(...losses)) + 1).not.toBe(best);
    expect(r.message).toMatch(/val_accuracy did not improve for 2 epochs/);
    model.dispose();
  });

  for (const engine of engines) {
    it(`reduce-on-plateau changes the rate ${engine} trains at`, async () => {
      // Plain SGD on the whole set per step, no dropout: the order of samples cannot matter, so two
      // epochs at the rate and one at half of it is the same training as the plateau's.
      const base: Omit<FitOptions, 'epochs'> = { batchSize: 100, seed: 1, optimizer: { name: 'sgd', learningRate: 0.4 }, engine };
      const a = mlp(0);
      // minDelta so large that no epoch after the first improves: the rate halves after epoch 2.
      const ra = await fit(a, data, { ...base, epochs: 3, validation, reduceOnPlateau: { patience: 1, factor: 0.5, minDelta: 1e9 } });
      expect(ra.history.map((e) => e.learningRate)).toEqual([0.4, 0.4, 0.2]);
      const b = mlp(0);
      await fit(b, data, { ...base, epochs: 2 });
      await fit(b, data, { ...base, epochs: 1, optimizer: { name: 'sgd', learningRate: 0.2 } });
      const c = mlp(0);
      await fit(c, data, { ...base, epochs: 3 });
      const wa = weightValues(a);
      const diff = (w: Map<string, Float32Array>): number => Math.max(...[...wa].map(([n, v]) => Math.max(...v.map((x, i) => Math.abs(x - w.get(n)![i]!)))));
      expect(diff(weightValues(b))).toBeLessThan(1e-6);
      expect(diff(weightValues(c))).toBeGreaterThan(1e-4);
      [a, b, c].forEach((m) => m.dispose());
    });
  }

  it('needs validation data', async () => {
    const model = mlp();
    await expect(fit(model, data, { epochs: 1, keepBest: {} })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/Keeping the best weights.*no validation data/) });
    await expect(fit(model, data, { epochs: 1, reduceOnPlateau: {} })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    model.dispose();
  });
});


const timeless = (h: readonly EpochRecord[]): Array<Omit<EpochRecord, 'seconds'>> => h.map(({ seconds: _, ...rest }) => rest);

const withStops = (options: FitOptions, stops: number[]): ReturnType<typeof fitWithStops> => fitWithStops(mlp, data, options, stops);

describe('callbacks resume bit for bit', () => {
  for (const engine of engines) {
    it(`keep-best, reduce-on-plateau and early stopping on val_accuracy (${engine})`, async () => {
      const before = liveTensors();
      const options: FitOptions = {
        epochs: 6,
        batchSize: 16,
        seed: 7,
        engine,
        optimizer: { name: 'sgd', learningRate: 0.3, momentum: 0.9 },
        validation,
        keepBest: { monitor: 'val_macro_f1' },
        reduceOnPlateau: { patience: 1, factor: 0.5, minDelta: 1e9 },
        earlyStopping: { patience: 4, monitor: 'val_accuracy' },
      };
      const plain = await withStops(options, []);
      // 7 batches per epoch: stops in epochs 2, 3 (after the first rate drop) and 5.
      const resumed = await withStops(options, [9, 8, 14]);
      expect(resumed.checkpoints.map((c) => c.epoch)).toEqual([2, 3, 5]);
      expect(resumed.checkpoints[1]!.reduceOnPlateau!.rateFactor).toBe(0.5);
      expect(resumed.checkpoints[1]!.keepBest!.bestWeights).toBeDefined();
      for (const [name, v] of plain.weights) expect(sameValues(v, resumed.weights.get(name)!), `weight ${name}`).toBe(true);
      expect(timeless(resumed.result.history)).toEqual(timeless(plain.result.history));
      expect(resumed.result.keptBest).toEqual(plain.result.keptBest);
      expect(plain.result.history.map((e) => e.learningRate)).toEqual([0.3, 0.3, 0.15, 0.075, 0.0375, 0.01875]);
      expect(liveTensors()).toBe(before);
    });
  }
});

describe('keep-best in fineTune', () => {
  it('each phase ends with its best epoch, through the feature cache too', async () => {
    const images = (n: number, seed: number): Dataset => ({ ...syntheticDataset(n, 2, seed), sampleShape: [8, 8, 1] });
    const train = images(96, 3);
    const val = images(32, 4);
    const source = buildSmallCnn({ classes: 4, inputShape: [8, 8, 1], filters: [4, 8], dense: 16, seed: 2 });
    const t = await transfer(source, { cut: 'pool2', head: { classes: 2, hidden: 8, dropout: 0.25 }, seed: 1 });
    source.dispose();
    const atEnd: number[] = [];
    // Rates high enough that validation loss does not fall every epoch (with BatchNorm training, as this case was built).
    const phases = await fineTune(t, train, {
      validation: val,
      seed: 1,
      frozen: { epochs: 5, optimizer: { name: 'sgd', learningRate: 5, momentum: 0.9 } },
      unfrozen: { epochs: 5, optimizer: { name: 'sgd', learningRate: 5, momentum: 0.9 }, batchNorm: 'train' },
      keepBest: { monitor: 'val_loss' },
      onPhaseEnd: (r) => void atEnd.push(lossAndAccuracy(t.model, describeOutput(t.model), val).loss),
    });
    expect(phases[0]!.featureCache).toBeDefined();
    for (const p of phases) {
      const losses = p.history.map((e) => e.valLoss!);
      const best = losses.indexOf(Math.min(...losses)) + 1;
      expect(p.keptBest, p.name).toEqual({ epoch: best, monitor: 'val_loss', value: losses[best - 1] });
    }
    // The whole model (not only the cached top) holds the kept epoch's weights at each phase's end.
    phases.forEach((p, i) => {
      expect(p.keptBest!.epoch, p.name).toBeLessThan(p.history.length);
      expect(Math.abs(atEnd[i]! - p.keptBest!.value), p.name).toBeLessThan(1e-6);
    });
    t.model.dispose();
  });
});
