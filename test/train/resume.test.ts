import { beforeAll, describe, expect, it } from 'vitest';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildMlp } from '../../src/models/mlp.js';
import { fit, type FitOptions } from '../../src/train/fit.js';
import type { FitCheckpoint } from '../../src/train/checkpoint.js';
import type { EpochRecord, FitResult } from '../../src/train/types.js';
import type { OptimizerSpec } from '../../src/train/optimizer.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildSmallCnn } from '../../src/models/small-cnn.js';
import { disposeModel } from '../../src/models/dispose.js';
import { transfer, type TransferredModel } from '../../src/transfer/transfer.js';
import { fineTune, type FineTuneCheckpoint, type FineTuneOptions, type PhaseResult } from '../../src/transfer/fine-tune.js';
import { readCheckpoint, writeCheckpoint } from '../../src/io/checkpoint-dir.js';
import type { Dataset } from '../../src/data/dataset.js';
import { liveTensors, sameValues, syntheticDataset, useBackend, weightValues } from '../helpers.js';
import { fitWithStops, stopAfter } from './stops.js';

beforeAll(useBackend);


/** History without the wall-clock field, which a resumed run cannot reproduce. */
const timeless = (h: readonly EpochRecord[]): Array<Omit<EpochRecord, 'seconds'>> => h.map(({ seconds: _, ...rest }) => rest);

function expectSameWeights(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [name, v] of a) expect(sameValues(v, b.get(name)!), `weight ${name} differs`).toBe(true);
}

const data = syntheticDataset(100, 4, 21);
const validation = syntheticDataset(40, 4, 22);
const mlp = (): tfl.LayersModel => buildMlp({ classes: 4, inputShape: [8, 8], hidden: 12, dropout: 0.3, seed: 3 });

const OPTIMIZERS: Array<[string, OptimizerSpec]> = [
  ['sgd', { name: 'sgd', learningRate: 0.05 }],
  ['sgd + momentum', { name: 'sgd', learningRate: 0.05, momentum: 0.9 }],
  ['adam', { name: 'adam', learningRate: 0.01 }],
];

const withStops = (options: FitOptions, stops: number[]): ReturnType<typeof fitWithStops> => fitWithStops(mlp, data, options, stops);

describe('fit: interrupt and resume', () => {
  for (const [label, optimizer] of OPTIMIZERS) {
    it(`equals an uninterrupted fit bit for bit (${label}, dropout, validation, early stopping)`, async () => {
      const before = liveTensors();
      const options: FitOptions = { epochs: 4, batchSize: 16, seed: 7, optimizer, validation, earlyStopping: { patience: 2 } };
      const plain = await withStops(options, []);
      // 7 batches per epoch: mid-epoch 2, then at the very start of epoch 3, then mid-epoch 4.
      const resumed = await withStops(options, [9, 5, 13]);
      expect(resumed.checkpoints.map((c) => [c.epoch, c.batch])).toEqual([
        [2, 2],
        [3, 0],
        [4, 6],
      ]);
      expectSameWeights(plain.weights, resumed.weights);
      expect(timeless(resumed.result.history)).toEqual(timeless(plain.result.history));
      expect(resumed.result.stopReason).toBe(plain.result.stopReason);
      expect(resumed.result.bestEpoch).toBe(plain.result.bestEpoch);
      expect(liveTensors()).toBe(before);
    });
  }

  it('keeps early stopping\'s state: stopped after the best epoch, it stops and restores as if never interrupted', async () => {
    const options: FitOptions = { epochs: 8, batchSize: 16, seed: 7, optimizer: { name: 'sgd', learningRate: 0.3, momentum: 0.9 }, validation, earlyStopping: { patience: 2 } };
    const plain = await withStops(options, []);
    expect(plain.result).toMatchObject({ stopReason: 'early-stopping', bestEpoch: 3 });
    const resumed = await withStops(options, [24]);
    expect(resumed.checkpoints[0]!.earlyStopping).toMatchObject({ bestEpoch: 3, wait: 0 });
    expect(resumed.checkpoints[0]!.earlyStopping!.bestWeights).toHaveLength(4);
    expect(resumed.result).toMatchObject({ stopReason: 'early-stopping', bestEpoch: 3 });
    expectSameWeights(plain.weights, resumed.weights);
    expect(timeless(resumed.result.history)).toEqual(timeless(plain.result.history));
  });

  it('stops before the first batch when already asked to, and says where it stopped', async () => {
    const model = mlp();
    const r = await fit(model, data, { epochs: 2, batchSize: 16, signal: { aborted: true } });
    expect(r.stopReason).toBe('interrupted');
    expect(r.history).toEqual([]);
    expect(r.message).toMatch(/interrupted in epoch 1\/2 after 0 of 7 batches/);
    expect(r.checkpoint).toMatchObject({ epoch: 1, batch: 0, seen: 0, lossSum: 0 });
    model.dispose();
  });

  it('refuses a checkpoint of another batch size, data set or model', async () => {
    const model = mlp();
    const r = await fit(model, data, { epochs: 2, batchSize: 16, signal: stopAfter(3) });
    const ck = r.checkpoint!;
    await expect(fit(model, data, { epochs: 2, batchSize: 8, resumeFrom: ck })).rejects.toMatchObject({ code: 'CHECKPOINT_MISMATCH', message: expect.stringMatching(/batch size 16.*8/) });
    await expect(fit(model, syntheticDataset(60, 4, 1), { epochs: 2, batchSize: 16, resumeFrom: ck })).rejects.toMatchObject({ code: 'CHECKPOINT_MISMATCH', message: expect.stringMatching(/100 training samples.*60/) });
    const other = buildMlp({ classes: 4, inputShape: [8, 8], hidden: 5 });
    await expect(fit(other, data, { epochs: 2, batchSize: 16, resumeFrom: ck })).rejects.toMatchObject({ code: 'CHECKPOINT_MISMATCH', message: expect.stringMatching(/not the one that was interrupted/) });
    model.dispose();
    other.dispose();
  });
});

/** 8×8×1 images: the synthetic task with a channel axis. */
function images(n: number, seed: number): Dataset {
  const d = syntheticDataset(n, 2, seed);
  return { ...d, sampleShape: [8, 8, 1] };
}
const ftTrain = images(96, 3);
const ftValidation = images(32, 4);

async function cnnTransfer(): Promise<TransferredModel> {
  const source = buildSmallCnn({ classes: 4, inputShape: [8, 8, 1], filters: [4, 8], dense: 16, seed: 2 });
  const t = await transfer(source, { cut: 'pool2', head: { classes: 2, hidden: 8, dropout: 0.25 }, seed: 1 });
  source.dispose();
  return t;
}

/** Through the files a CLI run would write and read: the resumed state is what the disk held. */
async function viaDisk(state: FineTuneCheckpoint): Promise<FineTuneCheckpoint> {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'graft-resume-')), 'run');
  const f = state.fit;
  await writeCheckpoint(dir, { command: 'transfer', reason: 'test', savedAt: '', graftVersion: '', phase: f.phase, epoch: f.epoch, epochs: f.epochs, batch: f.batch, batches: f.batches }, state, { force: false });
  const back = (await readCheckpoint(dir)).state as FineTuneCheckpoint;
  rmSync(path.dirname(dir), { recursive: true, force: true });
  return back;
}

/** fineTune to the end, stopping after each count of batches in `stops` and resuming on a freshly transferred model. */
async function fineTuneWithStops(options: FineTuneOptions, stops: number[]): Promise<{ phases: PhaseResult[]; weights: Map<string, Float32Array>; stoppedAt: string[] }> {
  let resumeFrom: FineTuneCheckpoint | undefined;
  const stoppedAt: string[] = [];
  for (const k of [...stops, Infinity]) {
    const t = await cnnTransfer();
    const phases = await fineTune(t, ftTrain, { seed: 5, batchSize: 16, validation: ftValidation, ...options, ...(k < Infinity && { signal: stopAfter(k) }), ...(resumeFrom && { resumeFrom }) });
    const last = phases[phases.length - 1]!;
    if (last.stopReason !== 'interrupted') {
      const weights = weightValues(t.model);
      disposeModel(t.model);
      return { phases, weights, stoppedAt };
    }
    expect(last.cache).toBeUndefined();
    stoppedAt.push(`${last.resume!.phase} ${last.resume!.fit.epoch}:${last.resume!.fit.batch}`);
    resumeFrom = await viaDisk(last.resume!);
    disposeModel(t.model);
  }
  throw new Error('unreachable');
}

/** What a phase records, without wall-clock times. */
const phaseRecord = (p: PhaseResult): unknown => ({
  name: p.name,
  stopReason: p.stopReason,
  bestEpoch: p.bestEpoch,
  history: timeless(p.history),
  trainableLayers: p.trainableLayers,
  learningRates: p.learningRates,
  unfreezeSchedule: p.unfreezeSchedule,
  featureCache: p.featureCache && { layer: p.featureCache.layer, images: p.featureCache.images },
});

describe('fineTune: interrupt and resume', () => {
  // 96 images in batches of 16: 6 batches per epoch; 3 frozen epochs = 18 batches, then the unfrozen phase.
  const cases: Array<[string, FineTuneOptions, number[], string[]]> = [
    [
      'adam, feature cache in both phases, stopped in each phase',
      { frozen: { epochs: 3, optimizer: { name: 'adam', learningRate: 0.01 } }, unfrozen: { epochs: 3, optimizer: { name: 'adam', learningRate: 0.001 }, unfreeze: { last: 4 } } },
      [8, 10, 9],
      ['frozen 2:2', 'unfrozen 1:0', 'unfrozen 2:3'],
    ],
    [
      'sgd + momentum, gradual unfreezing, discriminative rates, early stopping',
      {
        frozen: { epochs: 2, optimizer: { name: 'sgd', learningRate: 0.05, momentum: 0.9 } },
        // Diverges in unfrozen epoch 2 (with BatchNorm training, as this case was built): early stopping restores epoch 1, which had fewer layers unfrozen.
        unfrozen: { epochs: 5, optimizer: { name: 'sgd', learningRate: 1, momentum: 0.9 }, gradual: true, discriminative: 0.1, batchNorm: 'train' },
        earlyStopping: { patience: 1 },
      },
      [15, 5],
      ['unfrozen 1:3', 'unfrozen 2:2'],
    ],
    [
      'sgd, augmentation (no feature cache), stopped mid-epoch in the frozen phase',
      { frozen: { epochs: 2, optimizer: { name: 'sgd', learningRate: 0.05 } }, unfrozen: { epochs: 1 }, augment: { flip: true, shift: 0.125 } },
      [7],
      ['frozen 2:1'],
    ],
  ];
  for (const [label, options, stops, where] of cases) {
    it(`equals an uninterrupted fineTune bit for bit (${label})`, async () => {
      const before = liveTensors();
      const plain = await fineTuneWithStops(options, []);
      const resumed = await fineTuneWithStops(options, stops);
      expect(resumed.stoppedAt).toEqual(where);
      expectSameWeights(plain.weights, resumed.weights);
      expect(resumed.phases.map(phaseRecord)).toEqual(plain.phases.map(phaseRecord));
      expect(liveTensors()).toBe(before);
    });
  }

  it('early stopping with gradual unfreezing restores the best epoch exactly, though trainability changed since', async () => {
    // TF.js lists trainable weights first, so model.weights changes order as layers unfreeze; snapshots must not depend on it.
    const t = await cnnTransfer();
    let best: Map<string, Float32Array> | undefined;
    const phases = await fineTune(t, ftTrain, {
      ...cases[1]![1],
      seed: 5,
      batchSize: 16,
      validation: ftValidation,
      callbacks: { onEpochEnd: (r) => void (r.phase === 'unfrozen' && r.epoch === 1 && (best = weightValues(t.model))) },
    });
    expect(phases[1]).toMatchObject({ stopReason: 'early-stopping', bestEpoch: 1 });
    expect(phases[1]!.unfreezeSchedule).toHaveLength(2);
    expectSameWeights(best!, weightValues(t.model));
    disposeModel(t.model);
  });

  it('runs no onPhaseEnd for an interrupted phase, and none again for a finished one', async () => {
    const ended: string[] = [];
    const options: FineTuneOptions = { frozen: { epochs: 1 }, unfrozen: { epochs: 1 }, seed: 5, batchSize: 16, onPhaseEnd: (p) => void ended.push(p.name) };
    const t = await cnnTransfer();
    const first = await fineTune(t, ftTrain, { ...options, signal: stopAfter(8) });
    expect(first.map((p) => p.stopReason)).toEqual(['completed', 'interrupted']);
    expect(ended).toEqual(['frozen']);
    const u = await cnnTransfer();
    const second = await fineTune(u, ftTrain, { ...options, resumeFrom: first[1]!.resume! });
    expect(second.map((p) => p.name)).toEqual(['frozen', 'unfrozen']);
    expect(ended).toEqual(['frozen', 'unfrozen']);
    disposeModel(t.model);
    disposeModel(u.model);
  });
});
