import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { transfer, type TransferredModel } from '../../src/transfer/transfer.js';
import { fineTune, type FineTuneOptions, type PhaseResult } from '../../src/transfer/fine-tune.js';
import { parseFreezePolicy, parseUnfreezePolicy } from '../../src/transfer/freeze.js';
import { buildSmallCnn } from '../../src/models/small-cnn.js';
import { loadOnnxRuntime, setDefaultEngine } from '../../src/engine/onnx/runtime.js';
import { sameValues, syntheticDataset, useBackend, weightValues } from '../helpers.js';

/**
 * Every freeze and unfreeze policy, trained for real on both engines: the weights of layers a policy
 * freezes must come out bit-identical, and every other weight must have moved. (Checking only the
 * `frozen` names a policy reports let a bug that froze every layer pass the whole suite.)
 */
beforeAll(useBackend);
afterAll(() => setDefaultEngine('auto'));

const ort = await loadOnnxRuntime();
if (typeof ort === 'string') console.log(`freeze policies are trained on TF.js only: ${ort}`);
const ENGINES = typeof ort === 'string' ? (['tfjs'] as const) : (['tfjs', 'onnxruntime'] as const);

const data = syntheticDataset(64, 2, 11, 8);
const WEIGHTED = ['d1', 'd2', 'd3', 'head_output'] as const;
type Layer = (typeof WEIGHTED)[number];

/** flat → d1 → d2 → d3 → out: the reused layers are flat, d1, d2, d3 (four groups; flat has no weights). */
function source(): tfl.LayersModel {
  const m = tfl.sequential({ name: 'src' });
  m.add(tfl.layers.flatten({ inputShape: [8, 8], name: 'flat' }));
  [12, 10, 8].forEach((units, i) =>
    m.add(tfl.layers.dense({ units, activation: 'tanh', name: `d${i + 1}`, kernelInitializer: tfl.initializers.glorotUniform({ seed: 20 + i }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 30 + i }) })),
  );
  m.add(tfl.layers.dense({ units: 4, activation: 'softmax', name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 24 }) }));
  return m;
}

async function build(freeze: string): Promise<TransferredModel> {
  const src = source();
  const t = await transfer(src, { head: { classes: 2 }, freeze: parseFreezePolicy(freeze), seed: 3 });
  src.dispose();
  return t;
}

/** Weight values by layer (kernel and bias together). */
function byLayer(model: tfl.LayersModel): Map<Layer, Float32Array[]> {
  const w = weightValues(model);
  return new Map(WEIGHTED.map((l) => [l, [w.get(`${l}/kernel`)!, w.get(`${l}/bias`)!]]));
}

/** Which layers differ between two snapshots; a layer counts as unchanged only if every value is bit-identical. */
function moved(before: Map<Layer, Float32Array[]>, after: Map<Layer, Float32Array[]>): Layer[] {
  return WEIGHTED.filter((l) => before.get(l)!.some((v, i) => !sameValues(v, after.get(l)![i]!)));
}

/** Kernel and bias each moved (not just one of them): a layer half-trained is a bug too. */
function bothMoved(before: Map<Layer, Float32Array[]>, after: Map<Layer, Float32Array[]>, layer: Layer): boolean {
  return before.get(layer)!.every((v, i) => !sameValues(v, after.get(layer)![i]!));
}

const sgd = { name: 'sgd', learningRate: 0.2 } as const;

async function train(t: TransferredModel, engine: string, options: FineTuneOptions): Promise<PhaseResult[]> {
  const phases = await fineTune(t, data, { seed: 1, batchSize: 16, ...options });
  for (const p of phases) expect(p.engine?.engine, `${p.name} phase engine`).toBe(engine);
  return phases;
}

describe.each(ENGINES)('freeze policies, trained on %s', (engine) => {
  beforeAll(() => setDefaultEngine(engine));

  // [--freeze, the layers whose weights must move in the frozen phase]
  const cases: [string, Layer[]][] = [
    ['all', ['head_output']],
    ['none', ['d1', 'd2', 'd3', 'head_output']],
    ['first:2', ['d2', 'd3', 'head_output']], // flat and d1: an off-by-one would freeze d2 or leave d1 training
    ['first:3', ['d3', 'head_output']],
    ['/^d[13]$/', ['d2', 'head_output']], // frozen layers above and below a trainable one
    ['d2,d3', ['d1', 'head_output']],
  ];
  for (const featureCache of [true, false]) {
    for (const [policy, expected] of cases) {
      it(`--freeze ${policy}${featureCache ? '' : ' (no feature cache)'}: only ${expected.join(', ')} move`, async () => {
        const t = await build(policy);
        const before = byLayer(t.model);
        await train(t, engine, { featureCache, frozen: { epochs: 2, optimizer: sgd }, unfrozen: { epochs: 0 } });
        const after = byLayer(t.model);
        expect(moved(before, after)).toEqual(expected);
        for (const l of expected) expect(bothMoved(before, after, l), l).toBe(true);
        t.model.dispose();
      });
    }
  }

  // [--unfreeze, the reused layers that must move in the unfrozen phase]
  const unfreezeCases: [string, Layer[]][] = [
    ['all', ['d1', 'd2', 'd3']],
    ['last:1', ['d3']],
    ['last:2', ['d2', 'd3']],
    ['from:d2', ['d2', 'd3']],
    ['from:d1', ['d1', 'd2', 'd3']],
  ];
  for (const [policy, expected] of unfreezeCases) {
    it(`--unfreeze ${policy}: phase 2 moves ${expected.join(', ')} and the head, nothing else`, async () => {
      const t = await build('all');
      const start = byLayer(t.model);
      let afterFrozen: Map<Layer, Float32Array[]> | undefined;
      await train(t, engine, {
        frozen: { epochs: 1, optimizer: sgd },
        unfrozen: { epochs: 2, optimizer: sgd, unfreeze: parseUnfreezePolicy(policy) },
        onPhaseEnd: (p) => void (p.name === 'frozen' && (afterFrozen = byLayer(t.model))),
      });
      expect(moved(start, afterFrozen!)).toEqual(['head_output']);
      const end = byLayer(t.model);
      expect(moved(afterFrozen!, end)).toEqual([...expected, 'head_output']);
      for (const l of expected) expect(bothMoved(afterFrozen!, end, l), l).toBe(true);
      t.model.dispose();
    });
  }

  for (const featureCache of [true, false]) {
    it(`--freeze first:4 on a CNN${featureCache ? '' : ' (no feature cache)'}: the frozen block keeps its BatchNorm statistics, the trainable one updates them`, async () => {
      // Reused: conv1 bn1 relu1 pool1 | conv2 bn2 relu2 pool2; the head is Flatten → Dense.
      const src = buildSmallCnn({ classes: 4, inputShape: [8, 8, 1], filters: [3, 4], dense: 6, seed: 2 });
      const t = await transfer(src, { cut: 'pool2', head: { classes: 2 }, freeze: parseFreezePolicy('first:4'), seed: 3 });
      src.dispose();
      const before = weightValues(t.model);
      await train(t, engine, { featureCache, frozen: { epochs: 2, optimizer: sgd, batchNorm: 'train' }, unfrozen: { epochs: 0 } });
      const after = weightValues(t.model);
      const changed = [...before].filter(([k, v]) => !sameValues(v, after.get(k)!)).map(([k]) => k);
      expect(changed.sort()).toEqual(['bn2/beta', 'bn2/gamma', 'bn2/moving_mean', 'bn2/moving_variance', 'conv2/kernel', 'head_output/bias', 'head_output/kernel']);
      t.model.dispose();
    });
  }

  it('gradual unfreezing: epoch 1 trains d3, epoch 2 adds d2, d1 (not reached) stays as it was', async () => {
    const t = await build('all');
    const snaps: Map<Layer, Float32Array[]>[] = [];
    let afterFrozen: Map<Layer, Float32Array[]> | undefined;
    const phases = await train(t, engine, {
      frozen: { epochs: 1, optimizer: sgd },
      unfrozen: { epochs: 2, optimizer: sgd, gradual: true },
      onPhaseEnd: (p) => void (p.name === 'frozen' && (afterFrozen = byLayer(t.model))),
      callbacks: { onEpochEnd: (r) => void (r.phase === 'unfrozen' && snaps.push(byLayer(t.model))) },
    });
    expect(phases[1]!.unfreezeSchedule).toEqual([['d3'], ['d2']]);
    expect(moved(afterFrozen!, snaps[0]!)).toEqual(['d3', 'head_output']);
    expect(moved(snaps[0]!, snaps[1]!)).toEqual(['d2', 'd3', 'head_output']);
    t.model.dispose();
  });

  it('discriminative rates: one SGD step moves each layer by its factor of the plain step', async () => {
    // One full-batch SGD step from identical weights: the gradient is the same with and without
    // discriminative rates, so each layer's step is exactly its rate factor × the plain step.
    const step = async (discriminative?: number): Promise<{ before: Map<Layer, Float32Array[]>; after: Map<Layer, Float32Array[]> }> => {
      const t = await build('all');
      let before: Map<Layer, Float32Array[]> | undefined;
      await train(t, engine, {
        batchSize: data.y.length,
        frozen: { epochs: 1, optimizer: sgd },
        unfrozen: { epochs: 1, optimizer: { name: 'sgd', learningRate: 0.5 }, ...(discriminative !== undefined && { discriminative }) },
        onPhaseEnd: (p) => void (p.name === 'frozen' && (before = byLayer(t.model))),
      });
      const after = byLayer(t.model);
      t.model.dispose();
      return { before: before!, after };
    };
    const plain = await step();
    const disc = await step(0.01);
    const size = (s: { before: Map<Layer, Float32Array[]>; after: Map<Layer, Float32Array[]> }, l: Layer): number => {
      let sum = 0;
      s.before.get(l)!.forEach((v, i) => v.forEach((x, j) => (sum += Math.abs(s.after.get(l)![i]![j]! - x))));
      return sum;
    };
    // Groups flat | d1 | d2 | d3: factors 0.01^(3/4), 0.01^(2/4), 0.01^(1/4); the head trains at the full rate.
    const expected: Record<Layer, number> = { d1: 0.01 ** 0.75, d2: 0.1, d3: 0.01 ** 0.25, head_output: 1 };
    for (const l of WEIGHTED) {
      const ratio = size(disc, l) / size(plain, l);
      expect(Math.abs(ratio / expected[l] - 1), `${l}: step ratio ${ratio}, expected ${expected[l]}`).toBeLessThan(0.02);
    }
  });
});
