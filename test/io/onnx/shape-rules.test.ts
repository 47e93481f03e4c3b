import { describe, expect, it } from 'vitest';
import { FLOAT, type OnnxGraph, type OnnxNode, type OnnxTensor } from '../../../src/engine/onnx/model-proto.js';
import { inferShapes } from '../../../src/io/onnx/shape-infer.js';
import { everyTensorOut, ort, runGraph, typeName } from './static-graph-fixtures.js';

/**
 * Shape rules the fixtures do not reach (ceil-mode and padded pools, SAME padding, ConvTranspose, negative
 * slice steps, Split, Pad, Range, Tile, 1-D MatMul, transposed Gemm, reductions with axes as an
 * input), each against onnxruntime at two batch sizes.
 */
const i64 = (name: string, values: number[], dims = [values.length]): OnnxTensor => ({ name, dims, data: BigInt64Array.from(values.map(BigInt)) });

const CASES: Array<{ name: string; x: Array<number | 'N'>; nodes: OnnxNode[]; inits?: OnnxTensor[]; opset?: number }> = [
  { name: 'MaxPool ceil_mode, strides, pads', x: ['N', 2, 7, 9], nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['a'], attrs: { kernel_shape: [3, 2], strides: [2, 2], ceil_mode: 1 } }, { op: 'AveragePool', inputs: ['x'], outputs: ['b'], attrs: { kernel_shape: [3, 3], strides: [2, 3], pads: [1, 1, 1, 1], ceil_mode: 1 } }, { op: 'MaxPool', inputs: ['x'], outputs: ['c'], attrs: { kernel_shape: [2, 2], dilations: [2, 2] } }, { op: 'AveragePool', inputs: ['x'], outputs: ['d'], attrs: { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 } }] },
  { name: 'Conv SAME_UPPER, VALID, dilations, groups', x: ['N', 4, 9, 8], inits: [{ name: 'w', dims: [6, 2, 3, 3], data: new Float32Array(108).fill(0.5) }], nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['a'], attrs: { auto_pad: { string: 'SAME_UPPER' }, strides: [2, 3], group: 2 } }, { op: 'Conv', inputs: ['x', 'w'], outputs: ['b'], attrs: { auto_pad: { string: 'VALID' }, dilations: [2, 1], group: 2 } }] },
  { name: 'ConvTranspose: strides, dilations, pads, output_padding, groups, output_shape, SAME_UPPER', x: ['N', 4, 5, 3], inits: [{ name: 'wt', dims: [4, 3, 3, 2], data: new Float32Array(72).fill(0.25) }], nodes: [{ op: 'ConvTranspose', inputs: ['x', 'wt'], outputs: ['a'], attrs: { strides: [2, 3], dilations: [2, 1], pads: [1, 0, 2, 1], output_padding: [1, 2] } }, { op: 'ConvTranspose', inputs: ['x', 'wt'], outputs: ['b'], attrs: { group: 2 } }, { op: 'ConvTranspose', inputs: ['x', 'wt'], outputs: ['c'], attrs: { strides: [2, 2], output_shape: [10, 7] } }, { op: 'ConvTranspose', inputs: ['x', 'wt'], outputs: ['d'], attrs: { strides: [2, 2], auto_pad: { string: 'SAME_UPPER' } } }] },
  { name: 'Slice with negative steps and clamped ends, Split, Pad, Tile', x: ['N', 6, 5], inits: [i64('st', [100, 4]), i64('en', [-100, 0]), i64('ax', [1, 2]), i64('sp', [-2, -1]), i64('parts', [2, 4]), i64('pads', [0, 1, 2, 0, 0, 3]), i64('reps', [1, 2, 3])], nodes: [{ op: 'Slice', inputs: ['x', 'st', 'en', 'ax', 'sp'], outputs: ['a'] }, { op: 'Split', inputs: ['x', 'parts'], outputs: ['b', 'c'], attrs: { axis: 1 } }, { op: 'Pad', inputs: ['x', 'pads'], outputs: ['d'] }, { op: 'Tile', inputs: ['x', 'reps'], outputs: ['e'] }] },
  { name: 'Range, Transpose, Squeeze and ReduceSum with axes inputs, ReduceMax with axes attribute (opset 13)', x: ['N', 1, 4], inits: [i64('s', [2], []), i64('l', [11], []), i64('d', [3], []), i64('rax', [-1]), i64('sq', [1])], nodes: [{ op: 'Range', inputs: ['s', 'l', 'd'], outputs: ['r'] }, { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [2, 0, 1] } }, { op: 'Squeeze', inputs: ['x', 'sq'], outputs: ['q'] }, { op: 'ReduceSum', inputs: ['x', 'rax'], outputs: ['rs'], attrs: { keepdims: 0 } }, { op: 'ReduceMax', inputs: ['x'], outputs: ['rm'], attrs: { axes: [1, 2] } }], opset: 13 },
  { name: 'MatMul with 1-D operands, Gemm transA, broadcasting Where', x: ['N', 3], inits: [{ name: 'v', dims: [3], data: Float32Array.of(1, 2, 3) }, { name: 'g', dims: [5, 3], data: new Float32Array(15).fill(1) }, { name: 'c', dims: [1, 3], data: Uint8Array.of(1, 0, 1), dataType: 9 }], nodes: [{ op: 'MatMul', inputs: ['x', 'v'], outputs: ['a'] }, { op: 'MatMul', inputs: ['v', 'g'], outputs: ['b'], name: 'bad?' }, { op: 'Gemm', inputs: ['g', 'x'], outputs: ['e'], attrs: { transA: 0, transB: 1 } }, { op: 'Where', inputs: ['c', 'x', 'v'], outputs: ['w'] }] },
];

describe('shape rules against onnxruntime', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const g0: OnnxGraph = { inputs: [{ name: 'x', type: FLOAT, shape: c.x.map((d) => (d === 'N' ? 'batch' : d)) }], outputs: [], initializers: c.inits ?? [], nodes: c.nodes };
      // 1-D MatMul of v [3] by g [5, 3] is a mismatch; keep only the valid ones.
      const graph0 = { ...g0, nodes: g0.nodes.filter((n) => n.name !== 'bad?') };
      const facts = inferShapes(graph0, { x: c.x });
      const graph = everyTensorOut(graph0, (n) => facts.get(n)!.type);
      const o = await ort();
      const model = { irVersion: 8, opsets: [{ domain: '', version: c.opset ?? 17 }], graphName: 'rules', graph };
      for (const batch of [1, 3]) {
        const dims = c.x.map((d) => (d === 'N' ? batch : d));
        const n = dims.reduce((p, d) => p * d, 1);
        const x = new o.Tensor('float32', Float32Array.from({ length: n }, (_, i) => Math.sin(i)), dims);
        const out = await runGraph(model, graph, { x });
        for (const [name, r] of out) {
          const f = facts.get(name)!;
          expect({ name, type: typeName(f.type), shape: f.shape?.map((d) => (d === 'N' ? batch : d)) }).toEqual({ name, type: r.type, shape: r.dims });
        }
      }
    });
  }
});

describe('shapes that depend on the batch are unknown, not guessed', () => {
  it('Squeeze without axes over a batch that may be 1', () => {
    const g: OnnxGraph = { inputs: [{ name: 'x', type: FLOAT, shape: ['batch', 1, 4] }], outputs: [], initializers: [], nodes: [{ op: 'Squeeze', inputs: ['x'], outputs: ['q'] }] };
    expect(inferShapes(g, { x: ['N', 1, 4] }).get('q')!.shape).toBeNull();
    expect(inferShapes(g, { x: [2, 1, 4] }).get('q')!.shape).toEqual([2, 4]);
  });
});
