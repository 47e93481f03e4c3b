import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { encodeOnnxModel, FLOAT, type OnnxGraph, type OnnxInitializer, type OnnxNode } from '../../src/engine/onnx/model-proto.js';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnx/runtime.js';
import { Rng } from '../../src/engine/rng.js';
import { buildGradientGraph } from '../../src/train/graph/autodiff.js';
import { DepthwiseKernel, depthwiseKernelWanted, useDepthwiseKernel } from '../../src/train/onnx/depthwise-kernel.js';
import { depthwiseOutside, type OutsideDepthwise } from '../../src/train/onnx/depthwise-outside.js';
import { GraphStepper } from '../../src/train/onnx/graph-stepper.js';
import { inlineStepSessions } from '../../src/train/onnx/step-session.js';
import { resolveOptimizer } from '../../src/train/optimizer.js';
import { useBackend, weightValues } from '../helpers.js';

const ort = await loadOnnxRuntime();
const reason = typeof ort === 'string' ? `onnxruntime-node is not available (${ort})` : DepthwiseKernel.create() === null ? 'this JavaScript engine has no WebAssembly SIMD' : undefined;
if (reason) console.log(`skipping the depthwise-gradients-outside tests: ${reason}`);

const size = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);
function tensor(name: string, dims: number[], seed: number): OnnxInitializer {
  const rng = new Rng(seed);
  return { name, dims, data: Float32Array.from({ length: size(dims) }, () => rng.next() - 0.5) };
}
const ints = (name: string, values: number[]): OnnxInitializer => ({ name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });

/**
 * loss = Σ r·DepthwiseConv(Relu(x0)) with 4 channels, 3×3, stride 2, pads 1, on 16×16 (8×8 = 64
 * output positions), differentiated for its weight: ONNX's [4, 1, 3, 3], or (keras) a Keras kernel
 * [3, 3, 4, 1] through Transpose and Reshape, as graft's training forward writes it.
 */
function gradientGraph(keras: boolean): ReturnType<typeof buildGradientGraph> {
  const weight: OnnxNode[] = keras
    ? [
        { op: 'Transpose', inputs: ['v'], outputs: ['vt'], attrs: { perm: [2, 3, 0, 1] } },
        { op: 'Reshape', inputs: ['vt', 'wshape'], outputs: ['w'] },
      ]
    : [];
  // x0 and r come in at run time (as constants the autodiff would fold dY away).
  const forward: OnnxGraph = {
    inputs: [
      { name: 'x0', type: FLOAT, shape: ['n', 4, 16, 16] },
      { name: 'r', type: FLOAT, shape: ['n', 4, 8, 8] },
    ],
    outputs: [{ name: 'loss', type: FLOAT }],
    initializers: [keras ? tensor('v', [3, 3, 4, 1], 2) : tensor('w', [4, 1, 3, 3], 2), ints('wshape', [4, 1, 3, 3])],
    nodes: [
      { op: 'Relu', inputs: ['x0'], outputs: ['x'] },
      ...weight,
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2], group: 4 } },
      { op: 'Mul', inputs: ['y', 'r'], outputs: ['yr'] },
      { op: 'ReduceSum', inputs: ['yr'], outputs: ['loss'], attrs: { keepdims: 0 } },
    ],
  };
  return buildGradientGraph(forward, { loss: 'loss', trainable: [keras ? 'v' : 'w'], gradientName: (p) => `grad.${p}`, opset: 17 });
}

async function run(graph: OnnxGraph, inputs: OnnxInitializer[]): Promise<Record<string, Float32Array>> {
  const rt = ort as OrtModule;
  const session = await rt.InferenceSession.create(encodeOnnxModel({ irVersion: 8, producerName: 'test', opsets: [{ domain: '', version: 17 }], graphName: 'g', graph }), { logSeverityLevel: 3 });
  const out = await session.run(Object.fromEntries(inputs.map((p) => [p.name, new rt.Tensor('float32', p.data as Float32Array, p.dims)])));
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

/** dW from the kernel, over the X and dY the rewritten graph outputs, in the variable's own layout. */
function kernelGradient(layer: OutsideDepthwise, x: Float32Array, dy: Float32Array, batch: number): Float32Array {
  const kernel = DepthwiseKernel.create()!;
  const [xs, dys] = kernel.arrays([x.length, dy.length], 36) as Float32Array[];
  xs!.set(x);
  dys!.set(dy);
  const dw = kernel.weightGradient(layer.geometry, xs!, dys!, batch);
  const out = new Float32Array(dw.length);
  if (layer.order) layer.order.forEach((at, k) => (out[at] = dw[k]!));
  else out.set(dw);
  return out;
}

describe.skipIf(reason !== undefined)('depthwise weight gradients outside the step graph (depthwise-outside.ts)', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it.each([
    ['an ONNX weight [C, 1, kh, kw]', false, 'w'],
    ['a Keras kernel [kh, kw, C, 1] through Transpose and Reshape', true, 'v'],
  ] as const)('%s: X and dY become outputs in place of the gradient, and the kernel sums the same dW', async (_, keras, weight) => {
    const { graph: plain, params } = gradientGraph(keras);
    const { graph, layers } = depthwiseOutside(plain, new Set([weight]));
    expect(layers.map((l) => [l.weight, l.x, l.geometry])).toEqual([[weight, 'x', { channels: 4, inSize: [16, 16], outSize: [8, 8], kernel: [3, 3], strides: [2, 2], dilations: [1, 1], pads: [1, 1] }]]);
    expect(graph.outputs.map((o) => o.name)).not.toContain(`grad.${weight}`);
    expect(graph.outputs.map((o) => o.name)).toEqual(expect.arrayContaining(['x', layers[0]!.dy]));
    // The grouped Conv that summed dW in the graph is gone.
    expect(graph.nodes.filter((n) => n.op === 'Conv')).toHaveLength(1);
    const inputs = [tensor('x0', [2, 4, 16, 16], 1), tensor('r', [2, 4, 8, 8], 3), ...params];
    const [want, got] = [await run(plain, inputs), await run(graph, inputs)];
    const dw = kernelGradient(layers[0]!, got.x!, got[layers[0]!.dy]!, 2);
    const scale = want[`grad.${weight}`]!.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(scale).toBeGreaterThan(1);
    dw.forEach((v, i) => expect(Math.abs(v - want[`grad.${weight}`]![i]!), `tap ${i}`).toBeLessThan(1e-5 * scale));
  });

  it('leaves alone a depthwise layer at fewer than 64 output positions, an untrained weight, and an input that is a graph input', () => {
    const { graph } = gradientGraph(false);
    expect(depthwiseOutside(graph, new Set(['w'])).layers).toHaveLength(1);
    expect(depthwiseOutside(graph, new Set()).layers).toHaveLength(0);
    const fed = { ...graph, nodes: graph.nodes.filter((n) => n.op !== 'Relu').map((n) => (n.op === 'Conv' && n.inputs[0] === 'x' ? { ...n, inputs: ['x0', ...n.inputs.slice(1)] } : n)) };
    expect(depthwiseOutside(fed, new Set(['w'])).layers).toHaveLength(0);
    // At stride 4 the output is 4×4.
    const small = { ...graph, nodes: graph.nodes.map((n) => (n.op === 'Conv' && n.attrs?.group === 4 ? { ...n, attrs: { ...n.attrs, strides: [4, 4] } } : n)) };
    expect(depthwiseOutside(small, new Set(['w'])).layers).toHaveLength(0);
  });
});

/** 16×16×3 → Conv 8 → DepthwiseConv 3×3 same (bias) → DepthwiseConv 3×3 stride 2 same → BatchNorm → Dense 3. */
function model(): tfl.LayersModel {
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
  const input = tfl.input({ shape: [16, 16, 3] });
  let h = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1), name: 'c' }).apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu', depthwiseInitializer: init(2), name: 'dw1' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', useBias: false, depthwiseInitializer: init(3), name: 'dw2' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.batchNormalization({ name: 'bn' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.flatten().apply(tfl.layers.activation({ activation: 'relu' }).apply(h)) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(4), name: 'head' }).apply(h) as tfl.SymbolicTensor });
}

async function train(outside: boolean): Promise<{ weights: Map<string, Float32Array>; layers: string[] }> {
  useDepthwiseKernel(outside);
  try {
    const net = model();
    const stepper = new GraphStepper(ort as OrtModule, net, { activation: 'softmax', units: 3, classes: 3 }, resolveOptimizer({ name: 'sgd', learningRate: 0.05 }), undefined, undefined, 0, true, inlineStepSessions(ort as OrtModule));
    await stepper.refresh();
    stepper.beginEpoch(0, 0);
    const rng = new Rng(4);
    const step = (m: number) => stepper.step(Float32Array.from({ length: m * 768 }, () => rng.next() - 0.5), Float32Array.from({ length: m }, (_, i) => i % 3), m);
    // Batches of 6, then one of 4 (the kernel's memory is laid out again for it).
    for (const m of [6, 6, 4]) await step(m);
    await stepper.flush();
    // The head alone for a step, then every layer again: the depthwise memory is let go and made again.
    for (const trainable of [false, true]) {
      for (const l of net.layers) l.trainable = trainable || l.name === 'head';
      await stepper.refresh();
      stepper.beginEpoch(0, 0);
      await step(6);
      await stepper.flush();
    }
    const layers = ((stepper as unknown as { current: { outside?: { depthwise?: { layers: OutsideDepthwise[] } } } }).current.outside?.depthwise?.layers ?? []).map((l) => l.weight);
    stepper.syncModel();
    stepper.dispose();
    const weights = weightValues(net);
    net.dispose();
    return { weights, layers };
  } finally {
    useDepthwiseKernel(false);
  }
}

describe.skipIf(reason !== undefined)('GraphStepper: depthwise weight gradients from the kernel', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('trains the same weights as the step graph’s own gradients, through a smaller last batch and a trainability switch and back', async () => {
    // Off unless asked for (the step measured the same with it on 2 cores; bench/RESULTS.md).
    expect(depthwiseKernelWanted()).toBe(false);
    const [outside, inGraph] = [await train(true), await train(false)];
    // TF.js numbers each new model's layer names (dw1_3/depthwise_kernel).
    expect(outside.layers.map((n) => n.replace(/_\d+\//, '/'))).toEqual(['dw1/depthwise_kernel', 'dw2/depthwise_kernel']);
    expect(inGraph.layers).toEqual([]);
    const names = [...outside.weights.keys()];
    const start = weightValues(model());
    for (const name of names.filter((n) => n.includes('depthwise_kernel'))) {
      const [a, b] = [outside.weights.get(name)!, inGraph.weights.get(name)!];
      expect(a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0), name).toBeLessThan(1e-5);
      // Training moved them well past that.
      const s = [...start.values()][names.indexOf(name)]!;
      expect(a.reduce((m, v, i) => Math.max(m, Math.abs(v - s[i]!)), 0), name).toBeGreaterThan(1e-3);
    }
    for (const name of names) {
      const [a, b] = [outside.weights.get(name)!, inGraph.weights.get(name)!];
      expect(a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0), name).toBeLessThan(1e-4);
    }
  });
});
