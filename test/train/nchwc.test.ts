import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { encodeOnnxModel, FLOAT, type OnnxGraph, type OnnxInitializer } from '../../src/engine/onnx/model-proto.js';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnx/runtime.js';
import { GraphStepper } from '../../src/train/onnx/graph-stepper.js';
import { NCHWC_DOMAIN, nchwcBlock, nchwcConvs } from '../../src/train/onnx/nchwc.js';
import { inlineStepSessions, type OpenStepSession } from '../../src/train/onnx/step-session.js';
import { resolveOptimizer } from '../../src/train/optimizer.js';
import { Rng } from '../../src/engine/rng.js';
import { useBackend, weightValues } from '../helpers.js';

const ort = await loadOnnxRuntime();
const block = typeof ort === 'string' ? 0 : await nchwcBlock(ort);
const reason = typeof ort === 'string' ? `onnxruntime-node is not available (${ort})` : block === 0 ? `this onnxruntime has no channel-blocked (NCHWc) kernels on ${process.arch}` : undefined;
if (reason) console.log(`skipping the blocked-convolution tests: ${reason}`);

function values(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.next() - 0.5);
}
const f32 = (name: string, dims: number[]): OnnxInitializer => ({ name, dims, data: values(dims.reduce((a, b) => a * b, 1), name.length * 31 + dims[0]!) });

/**
 * Convolutions the blocked kernels take — channels padded up to whole blocks (24 → 8, with a bias,
 * strided), an exact fit (16 → 32, 1×1) and a depthwise one (16 channels) — and three they do not:
 * an RGB-like stem (3 channels), a grouped non-depthwise Conv, and a weight above BLOCKED_WEIGHT_FLOATS.
 */
function sample(): OnnxGraph {
  return {
    inputs: [],
    outputs: ['padded', 'exact', 'depthwise', 'stem', 'grouped', 'large'].map((name) => ({ name, type: FLOAT })),
    initializers: [
      f32('x24', [2, 24, 7, 7]),
      f32('w_padded', [8, 24, 3, 3]),
      f32('b_padded', [8]),
      f32('x16', [2, 16, 6, 6]),
      f32('w_exact', [32, 16, 1, 1]),
      f32('w_depthwise', [16, 1, 3, 3]),
      f32('x3', [2, 3, 6, 6]),
      f32('w_stem', [16, 3, 3, 3]),
      f32('w_grouped', [16, 8, 3, 3]),
      f32('x512', [1, 512, 2, 2]),
      f32('w_large', [520, 512, 1, 1]),
    ],
    nodes: [
      { op: 'Conv', inputs: ['x24', 'w_padded', 'b_padded'], outputs: ['padded'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } },
      { op: 'Conv', inputs: ['x16', 'w_exact'], outputs: ['exact'], attrs: { kernel_shape: [1, 1] } },
      { op: 'Conv', inputs: ['x16', 'w_depthwise'], outputs: ['depthwise'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 16 } },
      { op: 'Conv', inputs: ['x3', 'w_stem'], outputs: ['stem'], attrs: { kernel_shape: [3, 3] } },
      { op: 'Conv', inputs: ['x16', 'w_grouped'], outputs: ['grouped'], attrs: { kernel_shape: [3, 3], group: 2 } },
      { op: 'Conv', inputs: ['x512', 'w_large'], outputs: ['large'], attrs: { kernel_shape: [1, 1] } },
    ],
  };
}

async function outputs(graph: OnnxGraph): Promise<Record<string, Float32Array>> {
  const rt = ort as OrtModule;
  const bytes = encodeOnnxModel({ irVersion: 8, producerName: 'test', opsets: [{ domain: '', version: 17 }, { domain: NCHWC_DOMAIN, version: 1 }], graphName: 'g', graph });
  const session = await rt.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const out = await session.run({});
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

/** Input 6×6×4 → Conv 16 (4 channels: stays plain) → depthwise 3×3 → Conv 1×1 to 24 → Conv 3×3 to 8 (padded) → BatchNorm → Dense 3. */
function model(): tfl.LayersModel {
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
  const input = tfl.input({ shape: [6, 6, 4] });
  let h = tfl.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) }).apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: init(2) }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 24, kernelSize: 1, activation: 'relu', kernelInitializer: init(3) }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', kernelInitializer: init(4) }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.batchNormalization({}).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.flatten().apply(tfl.layers.activation({ activation: 'relu' }).apply(h)) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(5) }).apply(h) as tfl.SymbolicTensor });
}

/**
 * Four SGD steps of model(); `open` decides where (and whether) the blocked step graph runs. Not
 * Adam: it turns rounding-level differences in a near-zero gradient into whole steps of ±rate.
 */
async function train(open: OpenStepSession): Promise<{ weights: Float32Array[]; blockedConvs: number; loss: number }> {
  const net = model();
  const stepper = new GraphStepper(ort as OrtModule, net, { activation: 'softmax', units: 3, classes: 3 }, resolveOptimizer({ name: 'sgd', learningRate: 0.1 }), undefined, undefined, 0, true, open);
  await stepper.refresh();
  stepper.beginEpoch(0, 0);
  const rng = new Rng(3);
  for (let b = 0; b < 4; b++) {
    const labels = Float32Array.from({ length: 8 }, (_, i) => (i + b) % 3);
    await stepper.step(Float32Array.from({ length: 8 * 144 }, () => rng.next() - 0.5), labels, 8);
  }
  await stepper.flush();
  const loss = stepper.sums().loss;
  const blockedConvs = (stepper as unknown as { current: { blockedConvs: number } }).current.blockedConvs;
  stepper.syncModel();
  stepper.dispose();
  const weights = [...weightValues(net).values()];
  net.dispose();
  return { weights, blockedConvs, loss };
}

describe.skipIf(reason !== undefined)('convolutions on onnxruntime’s channel-blocked kernels (nchwc.ts)', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('finds the block size of this CPU’s kernels', () => {
    expect([8, 16]).toContain(block);
  });

  it('rewrites the Convs the blocked kernels take, and they compute the same outputs', async () => {
    const { graph, rewritten } = nchwcConvs(sample(), block);
    expect(rewritten).toBe(3);
    expect(graph.nodes.filter((n) => n.op === 'Conv' && !n.domain).map((n) => n.outputs[0])).toEqual(['stem', 'grouped', 'large']);
    const before = await outputs(sample());
    const after = await outputs(graph);
    for (const k of Object.keys(before)) {
      expect(after[k]!.length, k).toBe(before[k]!.length);
      const worst = Math.max(...before[k]!.map((v, i) => Math.abs(v - after[k]![i]!)));
      expect(worst, k).toBeLessThan(1e-5);
    }
  });

  it('trains a step graph with blocked convolutions as the plain one does, and falls back when they are refused', async () => {
    const rt = ort as OrtModule;
    const inline = inlineStepSessions(rt);
    const blocked = await train(inline);
    // A session that refuses the blocked graph: the stepper opens the plain one instead.
    const refusing: OpenStepSession = (bytes, options, light) => (Buffer.from(bytes).includes(NCHWC_DOMAIN) ? Promise.reject(new Error('no NCHWc here')) : inline(bytes, options, light));
    const plain = await train(refusing);
    // Forward: the depthwise Conv, the 1×1 to 24 and the padded 3×3 to 8. Backward: the input
    // gradients of the depthwise Conv and of the 1×1 (a Conv from 24 channels); the 3×3's reads 8.
    expect(blocked.blockedConvs).toBe(5);
    expect(plain.blockedConvs).toBe(0);
    expect(Math.abs(blocked.loss - plain.loss)).toBeLessThan(1e-5);
    let worst = 0;
    blocked.weights.forEach((w, i) => w.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - plain.weights[i]![j]!)))));
    expect(worst).toBeLessThan(1e-4);
    // Training moved the weights well past that tolerance.
    const start = [...weightValues(model()).values()];
    expect(Math.max(...start[0]!.map((v, j) => Math.abs(v - plain.weights[0]![j]!)))).toBeGreaterThan(1e-3);
  });
});
