import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { buildSmallCnn } from '../../src/models/small-cnn.js';
import { transfer, type TransferredModel } from '../../src/transfer/transfer.js';
import { fineTune, type FineTuneOptions, type PhaseResult } from '../../src/transfer/fine-tune.js';
import { findSplit } from '../../src/transfer/feature-cache.js';
import { layerGroups } from '../../src/transfer/layer-groups.js';
import { evaluate } from '../../src/evaluate/evaluate.js';
import type { Dataset } from '../../src/data/dataset.js';
import { liveTensors, sameValues, syntheticDataset, useBackend, weightValues } from '../helpers.js';

beforeAll(useBackend);

/** 8×8×1 images: the synthetic task with a channel axis. */
function images(n: number, seed: number): Dataset {
  const d = syntheticDataset(n, 2, seed);
  return { ...d, sampleShape: [8, 8, 1] };
}
const train = images(96, 3);
const validation = images(32, 4);
const test = images(64, 5);

async function cnnTransfer(cut = 'pool2'): Promise<TransferredModel> {
  const source = buildSmallCnn({ classes: 4, inputShape: [8, 8, 1], filters: [4, 8], dense: 16, seed: 2 });
  const t = await transfer(source, { cut, head: { classes: 2, hidden: 8, dropout: 0.2 }, seed: 1 });
  source.dispose();
  return t;
}

const maxDiff = (a: Map<string, Float32Array>, b: Map<string, Float32Array>): number => {
  let worst = 0;
  for (const [name, v] of a) {
    const w = b.get(name)!;
    for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(v[i]! - w[i]!));
  }
  return worst;
};

async function run(options: FineTuneOptions, cut?: string): Promise<{ t: TransferredModel; phases: PhaseResult[]; weights: Map<string, Float32Array>; accuracy: number }> {
  const t = await cnnTransfer(cut);
  const phases = await fineTune(t, train, { seed: 5, batchSize: 16, validation, ...options });
  return { t, phases, weights: weightValues(t.model), accuracy: evaluate(t.model, test).accuracy };
}

const recipe: FineTuneOptions = {
  frozen: { epochs: 3, optimizer: { name: 'adam', learningRate: 0.01 } },
  unfrozen: { epochs: 3, optimizer: { name: 'adam', learningRate: 0.001 }, unfreeze: { last: 4 } },
};

describe('feature cache', () => {
  it('gives the same training as running the frozen base every batch, in both phases', async () => {
    const before = liveTensors();
    const cached = await run(recipe);
    const plain = await run({ ...recipe, featureCache: false });
    expect(cached.phases.map((p) => p.featureCache?.layer)).toEqual(['head_flatten', 'pool1']);
    expect(cached.phases[0]!.featureCache!.images).toBe(96 + 32);
    expect(plain.phases.every((p) => p.featureCache === undefined)).toBe(true);
    const losses = (r: typeof cached): number[] => r.phases.flatMap((p) => p.history.flatMap((h) => [h.loss, h.valLoss!]));
    losses(cached).forEach((l, i) => expect(l).toBeCloseTo(losses(plain)[i]!, 5));
    expect(maxDiff(cached.weights, plain.weights)).toBeLessThan(1e-4);
    expect(Math.abs(cached.accuracy - plain.accuracy)).toBeLessThanOrEqual(1 / test.y.length);
    // BatchNorm statistics of the frozen conv blocks are untouched by the cached phase.
    const t0 = await cnnTransfer();
    const initial = weightValues(t0.model);
    for (const name of [...initial.keys()].filter((k) => k.startsWith('bn1'))) expect(sameValues(initial.get(name)!, cached.weights.get(name)!), name).toBe(true);
    for (const m of [cached, plain, { t: t0 }]) m.t.model.dispose();
    expect(liveTensors()).toBe(before);
  });

  it('stays off, saying why, while augmenting', async () => {
    const messages: string[] = [];
    const r = await run({ ...recipe, augment: { flip: true, shift: 0.125 }, callbacks: { onMessage: (m) => messages.push(m) } });
    expect(r.phases.every((p) => p.featureCache === undefined)).toBe(true);
    expect(messages.join('\n')).toMatch(/feature cache off because augmentation/);
    r.t.model.dispose();
  });

  it('stops below a frozen layer that acts differently in training (Dropout)', async () => {
    const t = await cnnTransfer('dropout');
    const search = findSplit(t.model);
    expect('split' in search && search.split.layer.name).toBe('hidden');
    t.model.dispose();
    const input = tfl.input({ shape: [4] });
    const d = tfl.layers.dropout({ rate: 0.5, name: 'noise' }).apply(input) as tfl.SymbolicTensor;
    const h = tfl.layers.dense({ units: 4, name: 'h', trainable: false }).apply(d) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'out' }).apply(h) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    const none = findSplit(model);
    expect('reason' in none && none.reason).toMatch(/Dropout layer noise, which acts differently in training/);
    model.dispose();
  });

  it('never splits inside a residual block', () => {
    const input = tfl.input({ shape: [4] });
    const a = tfl.layers.dense({ units: 4, name: 'a', trainable: false }).apply(input) as tfl.SymbolicTensor;
    const b = tfl.layers.dense({ units: 4, name: 'b', trainable: false }).apply(a) as tfl.SymbolicTensor;
    const sum = tfl.layers.add({ name: 'sum' }).apply([a, b]) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 1, activation: 'sigmoid', name: 'out' }).apply(sum) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    const search = findSplit(model);
    expect('split' in search && search.split.layer.name).toBe('sum');
    model.dispose();
  });
});

describe('gradual unfreezing and discriminative rates', () => {
  it('unfreezes one more block per epoch, from the top', async () => {
    const r = await run({ ...recipe, unfrozen: { epochs: 3, optimizer: { name: 'adam', learningRate: 0.001 }, gradual: true } });
    const unfrozen = r.phases[1]!;
    // Reused: conv1 bn1 relu1 pool1 | conv2 bn2 relu2 pool2 → two groups, the top one first.
    expect(unfrozen.unfreezeSchedule).toEqual([['conv2', 'bn2', 'relu2', 'pool2'], ['conv1', 'bn1', 'relu1', 'pool1'], []]);
    expect(unfrozen.trainableLayers).toEqual(expect.arrayContaining(['conv1', 'conv2']));
    // The cache stays below everything the phase unfreezes: here nothing is left to cache.
    expect(unfrozen.featureCache).toBeUndefined();
    r.t.model.dispose();
  });

  it('trains earlier groups at smaller rates and records them', async () => {
    const r = await run({ ...recipe, unfrozen: { epochs: 1, optimizer: { name: 'sgd', learningRate: 0.01 }, discriminative: 0.01 } });
    const rates = r.phases[1]!.learningRates!;
    expect(rates.conv1).toBeCloseTo(0.01 * 0.01, 8);
    expect(rates.conv2).toBeCloseTo(0.01 * 0.1, 8);
    expect(rates.head_output).toBeCloseTo(0.01, 8);
    r.t.model.dispose();
  });

  it('groups layers by Keras block names, else one weight layer per group', () => {
    const names = (ls: string[]): tfl.layers.Layer[] => ls.map((name) => tfl.layers.dense({ units: 1, name }));
    const dense = tfl.layers.dense({ units: 2, name: 'd1' });
    dense.build([null, 2]);
    const drop = tfl.layers.dropout({ rate: 0.1, name: 'drop' });
    const dense2 = tfl.layers.dense({ units: 2, name: 'd2' });
    dense2.build([null, 2]);
    expect(layerGroups([dense, drop, dense2]).map((g) => g.map((l) => l.name))).toEqual([['d1', 'drop'], ['d2']]);
    const vgg = names(['block4_conv3', 'block4_pool', 'block5_conv1', 'block5_pool']);
    expect(layerGroups(vgg).map((g) => g.length)).toEqual([2, 2]);
    const mnv2 = names(['expanded_conv_project_BN', 'block_1_expand', 'block_1_pad', 'block_16_project', 'Conv_1']);
    expect(layerGroups(mnv2).map((g) => g.map((l) => l.name))).toEqual([['expanded_conv_project_BN'], ['block_1_expand', 'block_1_pad'], ['block_16_project'], ['Conv_1']]);
  });
});
