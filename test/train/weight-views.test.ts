import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { encodeOnnxModel, FLOAT, type OnnxGraph } from '../../src/engine/onnx/model-proto.js';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnx/runtime.js';
import { GraphStepper } from '../../src/train/onnx/graph-stepper.js';
import { inlineStepSessions } from '../../src/train/onnx/step-session.js';
import { ViewKernel } from '../../src/train/onnx/view-kernel.js';
import { gatherView, useWeightViews, weightViews, weightViewsWanted } from '../../src/train/onnx/weight-views.js';
import { resolveOptimizer } from '../../src/train/optimizer.js';
import { Rng } from '../../src/engine/rng.js';
import { useBackend, weightValues } from '../helpers.js';

const ort = await loadOnnxRuntime();
const reason = typeof ort === 'string' ? `onnxruntime-node is not available (${ort})` : undefined;
if (reason) console.log(`skipping the weight-view tests: ${reason}`);

const ints = (name: string, v: number[]) => ({ name, dims: [v.length], data: BigInt64Array.from(v.map(BigInt)) });
const OPSETS = [{ domain: '', version: 17 }];

/**
 * X [2, 4, 5, 5] (the batch) and W [6, 4, 3, 3]: W padded to 8 filters, flipped, its kernel transposed →
 * Conv of X (a view); W reshaped → MatMul (an alias: stays); W padded with ones → Conv (not a
 * zero fill: stays); W + X's mean → Conv (reads the batch: stays).
 */
function graph(): OnnxGraph {
  return {
    nodes: [
      { op: 'Pad', inputs: ['W', 'pads8'], outputs: ['W8'] },
      { op: 'Slice', inputs: ['W8', 'minus1', 'far', 'axes23', 'minus1'], outputs: ['Wflip'] },
      { op: 'Transpose', inputs: ['Wflip'], outputs: ['Wt'], attrs: { perm: [0, 1, 3, 2] } },
      { op: 'Reshape', inputs: ['Wt', 'shape48'], outputs: ['Wt2'] },
      { op: 'Conv', inputs: ['X', 'Wt2'], outputs: ['y1'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Reshape', inputs: ['W', 'shape36'], outputs: ['Wrows'] },
      { op: 'ReduceMean', inputs: ['X'], outputs: ['xm'], attrs: { axes: [0, 2, 3], keepdims: 0 } },
      { op: 'MatMul', inputs: ['xm', 'Wrows'], outputs: ['y2'] },
      { op: 'Pad', inputs: ['W', 'pads8', 'one'], outputs: ['Wones'] },
      { op: 'Conv', inputs: ['X', 'Wones'], outputs: ['y3'] },
      { op: 'Add', inputs: ['W', 'xmean'], outputs: ['Wx'] },
      { op: 'ReduceMean', inputs: ['X'], outputs: ['xmean'], attrs: { keepdims: 1 } },
      { op: 'Conv', inputs: ['X', 'Wx'], outputs: ['y4'] },
    ],
    inputs: [
      { name: 'X', type: FLOAT, shape: ['N', 4, 5, 5] },
      { name: 'W', type: FLOAT, shape: [6, 4, 3, 3] },
    ],
    outputs: ['y1', 'y2', 'y3', 'y4'].map((name) => ({ name, type: FLOAT })),
    initializers: [
      ints('pads8', [0, 0, 0, 0, 2, 0, 0, 0]),
      ints('minus1', [-1, -1]),
      ints('far', [-(2 ** 52), -(2 ** 52)]),
      ints('axes23', [2, 3]),
      ints('shape48', [8, 4, 3, 3]),
      ints('shape36', [4, 54]),
      { name: 'one', dims: [], data: Float32Array.of(1) },
    ],
  };
}

describe.skipIf(reason !== undefined)('weight views: a weight’s rearrangements gathered outside the step graph (weight-views.ts)', () => {
  const o = ort as OrtModule;
  const run = async (g: OnnxGraph, feeds: Record<string, { data: Float32Array; dims: number[] }>): Promise<Record<string, Float32Array>> => {
    const session = await o.InferenceSession.create(encodeOnnxModel({ irVersion: 8, producerName: 'test', opsets: OPSETS, graphName: 'g', graph: g }), { logSeverityLevel: 3 });
    const inputs = new Set(session.inputNames);
    const out = await session.run(Object.fromEntries(Object.entries(feeds).filter(([n]) => inputs.has(n)).map(([n, v]) => [n, new o.Tensor('float32', v.data, v.dims)])));
    await session.release();
    return Object.fromEntries(Object.entries(out).map(([n, t]) => [n, t.data as Float32Array]));
  };

  it('takes out only chains that move one weight’s elements with zero fill, and the graph computes the same', async () => {
    const g = graph();
    const { graph: viewed, views } = await weightViews(o, g, new Set(['W']), OPSETS, 8);
    expect(views.map((v) => [v.name, v.source, v.dims])).toEqual([['Wt2', 'W', [8, 4, 3, 3]]]);
    // The flip chain is gone; the alias Reshape, the ones-Pad and the batch-dependent Add stay.
    expect(viewed.nodes.map((n) => n.outputs[0])).toEqual(['y1', 'Wrows', 'xm', 'y2', 'Wones', 'y3', 'Wx', 'xmean', 'y4']);
    // Padded filters gather zeros.
    expect(views[0]!.index.filter((k) => k < 0).length).toBe(4 * 2 * 9);
    const rng = new Rng(5);
    const x = Float32Array.from({ length: 2 * 100 }, () => rng.next() - 0.5);
    const w = Float32Array.from({ length: 216 }, () => rng.next() - 0.5);
    const view = new Float32Array(views[0]!.index.length).fill(Number.NaN);
    gatherView(w, views[0]!.index, view);
    const feeds = { X: { data: x, dims: [2, 4, 5, 5] }, W: { data: w, dims: [6, 4, 3, 3] } };
    const before = await run(g, feeds);
    const after = await run(viewed, { ...feeds, Wt2: { data: view, dims: [8, 4, 3, 3] } });
    for (const y of ['y1', 'y2', 'y3', 'y4']) expect([...after[y]!], y).toEqual([...before[y]!]);
  });

  it('leaves a graph alone when no weight is rearranged, or the variable is not named', async () => {
    expect((await weightViews(o, graph(), new Set(['X']), OPSETS, 8)).views).toEqual([]);
    const g = graph();
    const plain = { ...g, nodes: g.nodes.filter((n) => !['W8', 'Wflip', 'Wt', 'Wt2', 'y1'].includes(n.outputs[0]!)), outputs: g.outputs.slice(1) };
    const r = await weightViews(o, plain, new Set(['W']), OPSETS, 8);
    expect(r.views).toEqual([]);
    expect(r.graph).toBe(plain);
  });
});

/** Input 8×8×16 → Conv 3×3 16 → 32 (blocked, and its input gradient on the flipped kernel) → depthwise 3×3 → BatchNorm → Dense 2. */
function model(): tfl.LayersModel {
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
  const input = tfl.input({ shape: [8, 8, 16] });
  let h = tfl.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) }).apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2) }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: init(3) }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.batchNormalization({}).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.globalAveragePooling2d({}).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(4) }).apply(h) as tfl.SymbolicTensor });
}

describe('ViewKernel: every view gathered in WebAssembly', () => {
  it('gathers what gatherView does, from two sources, with zeros, after the sources change', () => {
    const rng = new Rng(2);
    const sources = new Map([['a', Float32Array.from({ length: 300 }, () => rng.next())], ['b', Float32Array.from({ length: 7 }, () => rng.next())]]);
    const views = [
      { name: 'va', source: 'a', dims: [320], index: Int32Array.from({ length: 320 }, (_, j) => (j >= 300 ? -1 : (j * 7) % 300)) },
      { name: 'vb', source: 'b', dims: [7], index: Int32Array.of(6, 5, 4, 3, 2, 1, 0) },
      { name: 'va2', source: 'a', dims: [3], index: Int32Array.of(-1, 299, 0) },
    ];
    const kernel = ViewKernel.create(views, new Map([['a', 300], ['b', 7]]));
    expect(kernel, 'Node has WebAssembly').toBeDefined();
    for (let round = 0; round < 2; round++) {
      kernel!.views.forEach((v) => v.fill(Number.NaN));
      kernel!.fill((name) => sources.get(name)!);
      views.forEach((v, i) => {
        const want = new Float32Array(v.index.length);
        gatherView(sources.get(v.source)!, v.index, want);
        expect([...kernel!.views[i]!], v.name).toEqual([...want]);
      });
      sources.get('a')!.forEach((_, j, a) => (a[j] = -a[j]!));
    }
  });
});

describe.skipIf(reason !== undefined)('GraphStepper with weight views', () => {
  beforeAll(async () => {
    await useBackend();
  });
  afterAll(() => useWeightViews(true));

  /** Three Adam steps (batches of 6, 6, then 4), a step of the head alone (the convolutions' weights frozen: views of constant inputs), and one of everything again; the views on or off. */
  async function train(on: boolean): Promise<{ weights: Float32Array[]; views: number }> {
    useWeightViews(on);
    const net = model();
    const stepper = new GraphStepper(ort as OrtModule, net, { activation: 'softmax', units: 2, classes: 2 }, resolveOptimizer({ name: 'adam', learningRate: 0.01 }), undefined, undefined, 0, true, inlineStepSessions(ort as OrtModule));
    await stepper.refresh();
    stepper.beginEpoch(0, 0);
    const rng = new Rng(9);
    const step = (m: number) => stepper.step(Float32Array.from({ length: m * 8 * 8 * 16 }, () => rng.next() - 0.5), Float32Array.from({ length: m }, (_, i) => i % 2), m);
    for (const m of [6, 6, 4]) await step(m);
    await stepper.flush();
    const views = (stepper as unknown as { current: { views: { list: unknown[] } } }).current.views.list.length;
    const head = net.layers.at(-1)!;
    for (const trainable of [false, true]) {
      for (const l of net.layers) l.trainable = trainable || l === head;
      await stepper.refresh();
      stepper.beginEpoch(0, 0);
      await step(6);
      await stepper.flush();
    }
    stepper.syncModel();
    stepper.dispose();
    const weights = [...weightValues(net).values()];
    net.dispose();
    return { weights, views };
  }

  it('is on by default, and trains the same weights bit for bit as the graph rearranging them itself', async () => {
    expect(weightViewsWanted()).toBe(true);
    const viewed = await train(true);
    const plain = await train(false);
    expect(plain.views).toBe(0);
    expect(viewed.views).toBeGreaterThan(0);
    viewed.weights.forEach((w, i) => expect([...w], `weight ${i}`).toEqual([...plain.weights[i]!]));
    // Where the kernel's memory cannot be had, a JavaScript loop gathers the same views.
    const refused = vi.spyOn(ViewKernel, 'create').mockReturnValue(undefined);
    let refusals = 0;
    const inJs = await train(true).finally(() => {
      refusals = refused.mock.calls.length;
      refused.mockRestore();
    });
    expect(refusals).toBeGreaterThan(0);
    expect(inJs.views).toBe(viewed.views);
    inJs.weights.forEach((w, i) => expect([...w], `weight ${i}, gathered in JavaScript`).toEqual([...plain.weights[i]!]));
    const start = [...weightValues(model()).values()];
    for (const i of [0, 2, 4]) expect(start[i]!.some((v, j) => v !== viewed.weights[i]![j]), `weight ${i} trained`).toBe(true);
  });
});
