import { describe, expect, it } from 'vitest';
import { encodeOnnxModel, FLOAT, type OnnxGraph, type OnnxInitializer } from '../../../src/engine/onnx/model-proto.js';
import { buildGradientGraph } from '../../../src/train/graph/autodiff.js';
import { foldPadsIntoConvs, mergeReluIntoClip, RELU_FLOOR, simplifyForTraining } from '../../../src/train/graph/simplify.js';
import { missing, ort } from './gradcheck.js';

/** Deterministic values in [−1, 1); the first `zeros` are 0. */
function values(n: number, seed: number, zeros = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (i < zeros ? 0 : ((((i + 1) * 2654435761 + seed * 97) % 2000) / 1000 - 1)));
}

const f32 = (name: string, dims: number[], data: Float32Array): OnnxInitializer => ({ name, dims, data });
const i64 = (name: string, v: number[]): OnnxInitializer => ({ name, dims: [v.length], data: BigInt64Array.from(v.map(BigInt)) });

/**
 * x [2, 4, 6, 6] (trainable, so dX flows through every rewrite) → Pad(bottom/right by 1) →
 * depthwise 3×3 Conv stride 2 → ·scale → Relu → Clip(0, 6) → Pad(1 all round) → 3×3 Conv (its own
 * pads 0, 1, 0, 1) → Relu → Clip(0.5, 2) → ReduceSum weighted: the loss. Sample 0's first channel
 * is all zeros, so its depthwise outputs are exactly 0: the kink where relu'(0) = 0 stops dX.
 */
function sample(): OnnxGraph {
  return {
    inputs: [],
    outputs: [{ name: 'loss', type: FLOAT, shape: [] }],
    initializers: [
      f32('x', [2, 4, 6, 6], values(288, 1, 36)),
      f32('dw', [4, 1, 3, 3], values(36, 2)),
      f32('w', [3, 4, 3, 3], values(108, 3)),
      f32('scale', [], Float32Array.of(8)),
      f32('zero', [], Float32Array.of(0)),
      f32('six', [], Float32Array.of(6)),
      f32('half', [], Float32Array.of(0.5)),
      f32('two', [], Float32Array.of(2)),
      f32('mix', [1, 3, 1, 1], Float32Array.of(1, -2, 3)),
      i64('padEnd', [0, 0, 0, 0, 0, 0, 1, 1]),
      i64('padAll', [0, 0, 1, 1, 0, 0, 1, 1]),
    ],
    nodes: [
      { op: 'Pad', inputs: ['x', 'padEnd'], outputs: ['xp'] },
      { op: 'Conv', inputs: ['xp', 'dw'], outputs: ['d'], attrs: { kernel_shape: [3, 3], strides: [2, 2], group: 4 } },
      { op: 'Mul', inputs: ['d', 'scale'], outputs: ['z'] },
      { op: 'Relu', inputs: ['z'], outputs: ['r'] },
      { op: 'Clip', inputs: ['r', 'zero', 'six'], outputs: ['c'] },
      { op: 'Pad', inputs: ['c', 'padAll'], outputs: ['cp'] },
      { op: 'Conv', inputs: ['cp', 'w'], outputs: ['y'], attrs: { kernel_shape: [3, 3], pads: [0, 1, 0, 1] } },
      { op: 'Relu', inputs: ['y'], outputs: ['ry'] },
      { op: 'Clip', inputs: ['ry', 'half', 'two'], outputs: ['cy'] },
      { op: 'Mul', inputs: ['cy', 'mix'], outputs: ['m'] },
      { op: 'ReduceSum', inputs: ['m'], outputs: ['loss'], attrs: { keepdims: 0 } },
    ],
  };
}

const TRAINABLE = ['x', 'dw', 'w'];

async function lossAndGradients(graph: OnnxGraph): Promise<Record<string, number[]>> {
  const rt = ort;
  if (typeof rt === 'string') throw new Error(rt);
  const g = buildGradientGraph(graph, { loss: 'loss', trainable: TRAINABLE });
  const bytes = encodeOnnxModel({ irVersion: 8, producerName: 'test', opsets: [{ domain: '', version: 17 }], graphName: 'g', graph: g.graph });
  const session = await rt.InferenceSession.create(bytes);
  const feeds = Object.fromEntries(g.params.map((p) => [p.name, new rt.Tensor('float32', p.data as Float32Array, p.dims)]));
  const out = await session.run(feeds);
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Array.from(v.data as Float32Array)]));
}

describe('simplifyForTraining', () => {
  it('merges Relu into the Clip after it and folds zero Pads into the Convs that read them', () => {
    const g = simplifyForTraining(sample());
    const ops = g.nodes.map((n) => n.op);
    expect(ops.filter((o) => o === 'Relu' || o === 'Pad')).toEqual([]);
    const [depthwise, conv] = g.nodes.filter((n) => n.op === 'Conv');
    expect(depthwise!.inputs[0]).toBe('x');
    expect(depthwise!.attrs?.pads).toEqual([0, 0, 1, 1]);
    expect(conv!.attrs?.pads).toEqual([1, 2, 1, 2]);
    const clips = g.nodes.filter((n) => n.op === 'Clip').map((n) => n.inputs);
    // A zero floor becomes the relu floor (strict at 0); a positive one is kept as it is.
    expect(clips).toEqual([['z', RELU_FLOOR, 'six'], ['y', 'half', 'two']]);
    expect(g.initializers.find((t) => t.name === RELU_FLOOR)?.data).toEqual(Float32Array.of(0));
  });

  it.skipIf(missing)('gives the same loss and gradients on onnxruntime, kinks included', async () => {
    const before = await lossAndGradients(sample());
    const after = await lossAndGradients(simplifyForTraining(sample()));
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    for (const k of Object.keys(before)) {
      expect(after[k]!.length, k).toBe(before[k]!.length);
      for (let i = 0; i < before[k]!.length; i++) expect(Math.abs(after[k]![i]! - before[k]![i]!), `${k}[${i}]`).toBeLessThan(1e-5);
    }
    // The kink matters: a Clip passing z = 0 (no relu floor) gives another dX.
    const plain = sample();
    plain.nodes = plain.nodes.filter((n) => n.op !== 'Relu' || n.outputs[0] !== 'r').map((n) => (n.outputs[0] === 'c' ? { ...n, inputs: ['z', 'zero', 'six'] } : n));
    const passed = await lossAndGradients(plain);
    expect(passed.loss).toEqual(before.loss);
    expect(Math.max(...passed['grad.x']!.map((v, i) => Math.abs(v - before['grad.x']![i]!)))).toBeGreaterThan(1e-3);
  });

  it('leaves alone what it cannot rewrite exactly', () => {
    const shared = sample();
    // The Relu's output read twice; a negative floor; a Pad of the channel axis and one with a fill value.
    shared.nodes.push({ op: 'Identity', inputs: ['r'], outputs: ['r_copy'] });
    shared.outputs.push({ name: 'r_copy', type: FLOAT, shape: [2, 4, 3, 3] });
    expect(mergeReluIntoClip(shared).nodes.filter((n) => n.op === 'Relu').length).toBe(1);
    const negative = sample();
    negative.initializers.push(f32('minus', [], Float32Array.of(-1)));
    negative.nodes[4] = { ...negative.nodes[4]!, inputs: ['r', 'minus', 'six'] };
    expect(mergeReluIntoClip(negative).nodes.filter((n) => n.op === 'Relu').length).toBe(1);
    const channels = sample();
    channels.initializers.push(i64('padChannel', [0, 1, 0, 0, 0, 0, 1, 1]));
    channels.nodes[0] = { ...channels.nodes[0]!, inputs: ['x', 'padChannel'] };
    expect(foldPadsIntoConvs(channels).nodes.filter((n) => n.op === 'Pad').map((n) => n.inputs[0])).toEqual(['x']);
    const filled = sample();
    filled.nodes[0] = { ...filled.nodes[0]!, inputs: ['x', 'padEnd', 'half'] };
    expect(foldPadsIntoConvs(filled).nodes.filter((n) => n.op === 'Pad').map((n) => n.inputs[0])).toEqual(['x']);
  });
});
