import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import type * as Ort from 'onnxruntime-node';
import { encodeModel, FLOAT, type OnnxGraph, type OnnxNode } from '../../../src/engine/onnx/model-proto.js';
import { Rng } from '../../../src/engine/rng.js';
import { isGraftError } from '../../../src/errors.js';
import { buildGradientGraph } from '../../../src/train/graph/autodiff.js';
import { softmaxCrossEntropy } from '../../../src/train/graph/loss.js';
import { batchNormTraining } from '../../../src/train/graph/batchnorm-training.js';
import { layerChain, type LayerChain } from '../../../src/train/layer-chain.js';
import { buildChainGraph } from '../../../src/train/onnx/chain-graph.js';
import { useBackend } from '../../helpers.js';
import { missing, ort } from './gradcheck.js';

beforeAll(useBackend);

/**
 * A whole small network — Conv → BatchNorm (batch statistics) → Relu, whose output is read twice
 * (by the second Conv and by the residual Add), → MaxPool → Flatten → Gemm, mean softmax
 * cross-entropy — differentiated by the op-level autodiff and by graft's per-layer chain engine
 * (src/train/onnx/chain-graph.ts), from the same weights and batch. The chain engine only outputs
 * updated weights, so it runs one SGD step with rate 1000: (w − w′)/1000 is its gradient to float32
 * precision. Every parameter's gradient must agree within 1e-4 of its largest element.
 */
const [N, H, W, C, F, K] = [5, 6, 6, 2, 3, 3];
const RATE = 1000;

function kerasModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [H, W, C] });
  const c1 = tfl.layers.conv2d({ filters: F, kernelSize: 3, padding: 'same', name: 'c1', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: 2 }) }).apply(input);
  const bn = tfl.layers.batchNormalization({ name: 'bn', gammaInitializer: tfl.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: 3 }), betaInitializer: tfl.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: 4 }) }).apply(c1);
  const r = tfl.layers.activation({ activation: 'relu' }).apply(bn) as tfl.SymbolicTensor;
  const c2 = tfl.layers.conv2d({ filters: F, kernelSize: 3, padding: 'same', name: 'c2', kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: 6 }) }).apply(r) as tfl.SymbolicTensor;
  const sum = tfl.layers.add().apply([r, c2]);
  const pooled = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(sum);
  const flat = tfl.layers.flatten().apply(pooled);
  const out = tfl.layers.dense({ units: K, activation: 'softmax', name: 'head', kernelInitializer: tfl.initializers.glorotUniform({ seed: 7 }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: 8 }) }).apply(flat) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: 'residual_net' });
}

/** TF kernel [kh, kw, in, out] → ONNX [out, in, kh, kw]. */
function onnxKernel(k: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(k.length);
  for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + a) * kw + b] = k[((a * kw + b) * cin + i) * cout + o]!;
  return out;
}

/** The same network as an ONNX forward graph (NHWC in, NCHW inside), weights in ONNX layouts. */
function onnxForward(w: Float32Array[]): OnnxGraph {
  const [k1, b1, gamma, beta, mean, variance, k2, b2, dense, bias] = w as [Float32Array, ...Float32Array[]];
  const nodes: OnnxNode[] = [
    { op: 'Transpose', inputs: ['x'], outputs: ['x_nchw'], attrs: { perm: [0, 3, 1, 2] } },
    { op: 'Conv', inputs: ['x_nchw', 'c1.weight', 'c1.bias'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }, name: '/c1/Conv' },
    // Inference-mode BatchNorm, as an exporter writes it; batchNormTraining below switches it to batch statistics.
    { op: 'BatchNormalization', inputs: ['c1', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var'], outputs: ['bn'], attrs: { epsilon: { float: 1e-3 } } },
    { op: 'Relu', inputs: ['bn'], outputs: ['r'] },
    { op: 'Conv', inputs: ['r', 'c2.weight', 'c2.bias'], outputs: ['c2'], attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
    { op: 'Add', inputs: ['r', 'c2'], outputs: ['sum'] },
    { op: 'MaxPool', inputs: ['sum'], outputs: ['pooled'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
    { op: 'Transpose', inputs: ['pooled'], outputs: ['pooled_nhwc'], attrs: { perm: [0, 2, 3, 1] } },
    { op: 'Flatten', inputs: ['pooled_nhwc'], outputs: ['flat'] },
    { op: 'Gemm', inputs: ['flat', 'head.weight', 'head.bias'], outputs: ['logits'] },
  ];
  const t = (name: string, dims: number[], data: Float32Array) => ({ name, dims, data });
  // Keras's BatchNormalization momentum 0.99 is ONNX's (the running value's weight); TF averages the biased variance.
  return batchNormTraining({
    nodes,
    inputs: [{ name: 'x', type: FLOAT, shape: ['n', H, W, C] }],
    outputs: [{ name: 'logits', type: FLOAT, shape: ['n', K] }],
    initializers: [
      t('c1.weight', [F, C, 3, 3], onnxKernel(k1, 3, 3, C, F)), t('c1.bias', [F], b1!),
      t('bn.weight', [F], gamma!), t('bn.bias', [F], beta!), t('bn.running_mean', [F], mean!), t('bn.running_var', [F], variance!),
      t('c2.weight', [F, F, 3, 3], onnxKernel(k2!, 3, 3, F, F)), t('c2.bias', [F], b2!),
      t('head.weight', [(H / 2) * (W / 2) * F, K], dense!), t('head.bias', [K], bias!),
    ],
  }, { momentum: 0.99 }).graph;
}

/** Per weighted layer in order, its getWeights() (the model's own getWeights() puts BatchNorm's moving statistics last). */
function layerWeights(model: tfl.LayersModel): Float32Array[] {
  return ['c1', 'bn', 'c2', 'head'].flatMap((name) => model.getLayer(name).getWeights().map((t) => t.dataSync() as Float32Array));
}

const PARAMS = ['c1.weight', 'c1.bias', 'bn.weight', 'bn.bias', 'c2.weight', 'c2.bias', 'head.weight', 'head.bias'];
/** Each PARAMS entry's index in getWeights() order (BatchNorm's moving statistics sit at 4 and 5). */
const WEIGHT_INDEX = [0, 1, 2, 3, 6, 7, 8, 9];

async function chainGradients(model: tfl.LayersModel, chain: LayerChain, x: Float32Array, labels: number[], w: Float32Array[]): Promise<Map<string, Float32Array>> {
  const o = ort as typeof Ort;
  const weighted = chain.steps.filter((s) => s.kind === 'conv' || s.kind === 'bn' || s.kind === 'dense');
  const bytes = buildChainGraph({ chain, trainable: weighted.map(() => true), bnTraining: weighted.map((s) => s.kind === 'bn'), rates: weighted.map(() => RATE), optimizer: { name: 'sgd', learningRate: RATE, momentum: 0, weightDecay: 0, rho: 0.9, epsilon: 1e-7 } });
  const session = await o.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const y = new Float32Array(N * K);
  labels.forEach((l, i) => (y[i * K + l] = 1));
  const feeds: Record<string, Ort.Tensor> = { x: new o.Tensor('float32', x, [N, H, W, C]), y: new o.Tensor('float32', y, [N, K]), inv_n: new o.Tensor('float32', Float32Array.of(1 / N), []) };
  const shapes = ['c1', 'bn', 'c2', 'head'].flatMap((name) => model.getLayer(name).getWeights().map((t) => t.shape));
  let j = 0;
  weighted.forEach((s, i) => {
    const count = s.kind === 'bn' ? 4 : 2;
    for (let v = 0; v < count; v++, j++) feeds[`L${i}_${v}`] = new o.Tensor('float32', w[j]!, shapes[j]!);
  });
  const out = await session.run(feeds);
  const layerOf = [[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [2, 1], [3, 0], [3, 1]];
  const grads = new Map<string, Float32Array>();
  PARAMS.forEach((p, k) => {
    const [i, v] = layerOf[k]!;
    const before = w[WEIGHT_INDEX[k]!]!;
    const after = out[`new_L${i}_${v}`]!.data as Float32Array;
    let g: Float32Array = Float32Array.from(before, (b, e) => (b - after[e]!) / RATE);
    if (p.endsWith('.weight') && p.startsWith('c')) g = onnxKernel(g, 3, 3, p === 'c1.weight' ? C : F, F);
    grads.set(p, g);
  });
  // BatchNorm (weighted layer 1): its moving mean and variance after the step.
  grads.set('bn.running_mean.new', out.new_L1_2!.data as Float32Array);
  grads.set('bn.running_var.new', out.new_L1_3!.data as Float32Array);
  return grads;
}

describe.skipIf(missing)('op-level autodiff on a whole network', () => {
  it('matches graft\'s chain engine per parameter within 1e-4 (residual Add, a tensor read twice, BatchNorm batch statistics)', async () => {
    const model = kerasModel();
    const chain = layerChain(model);
    if (typeof chain === 'string') throw new Error(chain);
    const w = layerWeights(model);
    const rng = new Rng(11);
    const x = Float32Array.from({ length: N * H * W * C }, () => rng.next() * 2 - 1);
    const labels = [0, 2, 1, 1, 2];
    const reference = await chainGradients(model, chain, x, labels, w);

    const built = buildGradientGraph(softmaxCrossEntropy(onnxForward(w), 'logits'), { loss: 'loss', trainable: PARAMS });
    const o = ort as typeof Ort;
    const session = await o.InferenceSession.create(encodeModel(built.graph), { logSeverityLevel: 3 });
    const feeds: Record<string, Ort.Tensor> = { x: new o.Tensor('float32', x, [N, H, W, C]), labels: new o.Tensor('int64', BigInt64Array.from(labels.map(BigInt)), [N]) };
    for (const p of built.params) feeds[p.name] = new o.Tensor('float32', p.data as Float32Array, p.dims);
    const out = await session.run(feeds);
    const off: string[] = [];
    const figures: string[] = [];
    for (const { param, output } of built.gradients) {
      const got = out[output]!.data as Float32Array;
      const want = reference.get(param)!;
      let worst = 0;
      let scale = 0;
      want.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v - got[i]!));
        scale = Math.max(scale, Math.abs(v));
      });
      // The first conv's bias feeds a training-mode BatchNorm, which subtracts the batch mean: its
      // gradient is 0 in exact arithmetic, float32 noise (~1e-9) in both engines. Compared absolutely.
      const zero = scale < 1e-6;
      const err = zero ? worst : worst / scale;
      figures.push(`${param} ${err.toExponential(1)}${zero ? ' (absolute: a zero gradient)' : ''}`);
      if (!(err < (zero ? 1e-6 : 1e-4))) off.push(`${param}: largest difference ${worst} (largest value ${scale})`);
    }
    for (const stat of ['bn.running_mean.new', 'bn.running_var.new']) {
      const got = out[stat]!.data as Float32Array;
      reference.get(stat)!.forEach((v, i) => expect(got[i]!, `${stat} [${i}]`).toBeCloseTo(v, 6));
    }
    if (process.env.GRADCHECK_REPORT) console.log(`network vs chain engine: ${figures.join(', ')}`);
    expect(off).toEqual([]);
  });

  it('gives a frozen prefix no backward: training only the head emits no convolution gradient and no input gradient', async () => {
    const model = kerasModel();
    const w = layerWeights(model);
    const built = buildGradientGraph(softmaxCrossEntropy(onnxForward(w), 'logits'), { loss: 'loss', trainable: ['head.weight', 'head.bias'] });
    const forwardCount = onnxForward(w).nodes.length + 1;
    const backward = built.graph.nodes.slice(forwardCount).map((n) => n.op);
    expect(backward).not.toContain('ConvTranspose');
    expect(backward).not.toContain('ScatterElements'); // MaxPool's gradient
    expect(backward.filter((op) => op === 'Conv')).toEqual([]);
    // Frozen first conv, trained BatchNorm: the BN gets gradients, nothing flows into the first conv.
    const partial = buildGradientGraph(softmaxCrossEntropy(onnxForward(w), 'logits'), { loss: 'loss', trainable: ['bn.weight', 'bn.bias'] });
    const ops = partial.graph.nodes.slice(forwardCount).map((n) => n.op);
    // One convolution in the backward: the input gradient through the second conv (stride 1: a flipped-kernel
    // Conv) back to the BN output; no weight gradient Convs and nothing for the first conv.
    expect(ops.filter((op) => op === 'Conv' || op === 'ConvTranspose')).toEqual(['Conv']);
    expect(partial.graph.inputs.map((i) => i.name)).toEqual(['x', 'labels', 'bn.weight', 'bn.bias']);
    expect(partial.graph.initializers.some((t) => t.name === 'bn.weight')).toBe(false);
  });

  it('refuses an op without a gradient on a trained path, naming the op, the node and the ops it has; the same op in a frozen part is fine', async () => {
    const g: OnnxGraph = {
      nodes: [
        { op: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] },
        { op: 'Sin', inputs: ['h'], outputs: ['s'], name: '/block/Sin' },
        { op: 'ReduceSum', inputs: ['s'], outputs: ['loss'], attrs: { keepdims: 0 } },
      ],
      inputs: [{ name: 'x', type: FLOAT, shape: [2, 3] }],
      outputs: [{ name: 'loss', type: FLOAT, shape: [] }],
      initializers: [{ name: 'w', dims: [3, 2], data: new Float32Array(6) }],
    };
    let error: unknown;
    try {
      buildGradientGraph(g, { loss: 'loss', trainable: ['w'] });
    } catch (e) {
      error = e;
    }
    expect(isGraftError(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('Sin node "/block/Sin"');
    expect(message).toContain('Concat, Conv, Div, Dropout, Erf');
    expect(message).toMatch(/Freeze the layers up to it/);
    // Sin before the trainable: frozen, no gradient needed.
    const frozen: OnnxGraph = { ...g, nodes: [{ op: 'Sin', inputs: ['x'], outputs: ['sx'] }, { op: 'MatMul', inputs: ['sx', 'w'], outputs: ['h'] }, { op: 'ReduceSum', inputs: ['h'], outputs: ['loss'], attrs: { keepdims: 0 } }] };
    expect(buildGradientGraph(frozen, { loss: 'loss', trainable: ['w'] }).gradients).toEqual([{ param: 'w', output: 'grad.w' }]);
  });

  it('refuses a trainable that is no float initializer, a loss that is no tensor, and a cycle', () => {
    const g: OnnxGraph = { nodes: [{ op: 'Relu', inputs: ['a'], outputs: ['b'] }, { op: 'Relu', inputs: ['b'], outputs: ['a'] }], inputs: [], outputs: [], initializers: [] };
    expect(() => buildGradientGraph(g, { loss: 'b', trainable: [] })).toThrow(/cycle: the Relu node/);
    const ok: OnnxGraph = { nodes: [{ op: 'Relu', inputs: ['w'], outputs: ['loss'] }], inputs: [], outputs: [], initializers: [{ name: 'w', dims: [], data: Float32Array.of(1) }] };
    expect(() => buildGradientGraph(ok, { loss: 'nope', trainable: ['w'] })).toThrow(/The loss "nope" is no tensor/);
    expect(() => buildGradientGraph(ok, { loss: 'loss', trainable: ['v'] })).toThrow(/"v" cannot train: it is no initializer of the graph\. .*such as w/);
  });
});
