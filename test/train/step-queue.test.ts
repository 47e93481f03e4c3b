import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnx/runtime.js';
import { GraphStepper } from '../../src/train/onnx/graph-stepper.js';
import { resolveOptimizer } from '../../src/train/optimizer.js';
import { Rng } from '../../src/engine/rng.js';
import { sameValues, useBackend, weightValues } from '../helpers.js';

const ort = await loadOnnxRuntime();
if (typeof ort === 'string') console.log(`skipping the step-queue tests: onnxruntime-node is not available (${ort})`);

/** A Dense stack with dropout on `inputShape` (after a small Conv2D with `conv`), its weights from `seed`. */
function model(inputShape: number[], seed: number, conv = false): tfl.LayersModel {
  const input = tfl.input({ shape: inputShape });
  let h = conv ? (tfl.layers.conv2d({ filters: 2, kernelSize: 3, kernelInitializer: tfl.initializers.glorotUniform({ seed }) }).apply(input) as tfl.SymbolicTensor) : input;
  h = inputShape.length > 1 ? (tfl.layers.flatten().apply(h) as tfl.SymbolicTensor) : h;
  h = tfl.layers.dense({ units: 16, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed }) }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.dropout({ rate: 0.3 }).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }) }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

/** onnxruntime with every session's run() counted, and the trip count of each. */
function counting(real: OrtModule): { ort: OrtModule; trips: number[] } {
  const trips: number[] = [];
  const create = async (bytes: Uint8Array, o: unknown): Promise<unknown> => {
    const s = await real.InferenceSession.create(bytes, o as never);
    const run = s.run.bind(s);
    (s as { run: unknown }).run = (feeds: Record<string, { data: BigInt64Array }>, ...rest: unknown[]) => {
      // 0: the step graph run as it is, one step (no Loop). Runs that feed no batch are not steps (nchwc.ts's probe).
      if (feeds.trips || feeds.x) trips.push(feeds.trips ? Number(feeds.trips.data[0]) : 0);
      return (run as (...a: unknown[]) => unknown)(feeds, ...rest);
    };
    return s;
  };
  return { ort: { ...real, InferenceSession: { ...real.InferenceSession, create } } as unknown as OrtModule, trips };
}

/** `batches` steps of batch size m (the last one `last` samples), a new dropout seed and rate each step; flushed after each step or once at the end. */
async function train(o: { each: boolean; inputShape: number[]; m: number; batches: number; last: number; conv?: boolean }): Promise<{ weights: Float32Array[]; sums: { loss: number; correct: number }; state: unknown; trips: number[] }> {
  const net = model(o.inputShape, 5, o.conv);
  const { ort: counted, trips } = counting(ort as OrtModule);
  const stepper = new GraphStepper(counted, net, { activation: 'softmax', units: 3, classes: 3 }, resolveOptimizer({ name: 'adam', learningRate: 0.01 }), undefined);
  await stepper.refresh();
  stepper.beginEpoch(0, 0);
  const size = o.inputShape.reduce((a, b) => a * b, 1);
  const rng = new Rng(11);
  const dropout = net.layers.find((l) => l.getClassName() === 'Dropout') as tfl.layers.Layer & { seed?: number };
  for (let b = 0; b < o.batches; b++) {
    const m = b === o.batches - 1 ? o.last : o.m;
    const labels = Float32Array.from({ length: o.m }, (_, i) => (i + b) % 3);
    const x = Float32Array.from({ length: o.m * size }, (_, i) => rng.next() - 0.5 + (labels[Math.floor(i / size)]! === i % 3 ? 0.5 : 0));
    dropout.seed = rng.seed();
    stepper.setLearningRate(0.01 / (1 + b));
    await stepper.step(x, labels, m);
    if (o.each) await stepper.flush();
  }
  await stepper.flush();
  const sums = stepper.sums();
  stepper.syncModel();
  // Without layer names, which differ between the copies.
  const state = (await stepper.saveState()).map(({ layer: _layer, ...rest }) => rest);
  stepper.dispose();
  // In order: the two copies' layers get different automatic names.
  const weights = [...weightValues(net).values()];
  net.dispose();
  return { weights, sums, state, trips };
}

describe.skipIf(typeof ort === 'string')('GraphStepper runs queued steps in one onnxruntime run (loop-graph.ts)', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('trains the same weights, optimizer state and sums, bit for bit, as one run per step', async () => {
    const o = { inputShape: [6], m: 8, batches: 37, last: 5 };
    const one = await train({ ...o, each: true });
    const queued = await train({ ...o, each: false });
    expect(one.trips.every((t) => t === 1)).toBe(true);
    // 36 full batches queue 32 then 4; the smaller last batch is a run of its own.
    expect(queued.trips).toEqual([32, 4, 1]);
    one.weights.forEach((w, i) => expect(sameValues(w, queued.weights[i]!), `weight ${i}`).toBe(true));
    expect(queued.sums).toEqual(one.sums);
    expect(queued.state).toEqual(one.state);
  });

  it('queues as many steps as fit in 16 MB of per-step inputs', async () => {
    // 200 × 32×32×3 floats = 2.46 MB a step: 6 steps a run.
    const { trips } = await train({ each: false, inputShape: [32, 32, 3], m: 200, batches: 14, last: 200 });
    expect(trips).toEqual([6, 6, 2]);
  });

  it('runs a heavy step graph (here: with a convolution) as it is, one step a run, training the same weights', async () => {
    const o = { inputShape: [6, 6, 1], m: 4, batches: 5, last: 4, conv: true };
    const one = await train({ ...o, each: true });
    const queued = await train({ ...o, each: false });
    expect(queued.trips).toEqual([0, 0, 0, 0, 0]);
    one.weights.forEach((w, i) => expect(sameValues(w, queued.weights[i]!), `weight ${i}`).toBe(true));
  });

  it('refuses to read sums or weights while steps are queued', async () => {
    const net = model([4], 1);
    const stepper = new GraphStepper(ort as OrtModule, net, { activation: 'softmax', units: 3, classes: 3 }, resolveOptimizer({ name: 'sgd', learningRate: 0.1 }), undefined);
    await stepper.refresh();
    stepper.beginEpoch(0, 0);
    await stepper.step(new Float32Array(8), Float32Array.of(0, 1), 2);
    expect(() => stepper.sums()).toThrow(/1 queued steps have not run; await flush\(\) first/);
    expect(() => stepper.syncModel()).toThrow(/await flush\(\) first/);
    await stepper.flush();
    expect(Number.isFinite(stepper.sums().loss)).toBe(true);
    stepper.dispose();
    net.dispose();
  });
});
