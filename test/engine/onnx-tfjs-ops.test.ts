import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type * as Ort from 'onnxruntime-node';
import { BOOL, FLOAT, INT64, encodeOnnxModel, type OnnxGraph, type OnnxInitializer, type OnnxNode } from '../../src/engine/onnx/model-proto.js';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { Rng } from '../../src/engine/rng.js';
import { runOnnxOnTf } from '../../src/engine/onnx/tfjs/run.js';
import { onnxTensorToTf } from '../../src/engine/onnx/tfjs/values.js';
import { buildGradientGraph } from '../../src/train/graph/autodiff.js';
import { useBackend } from '../helpers.js';

/**
 * Each op form the fixtures do not reach (opset differences, groups, dilations, asymmetric pads,
 * ceil_mode, negative steps, pad modes, broadcasting, int and bool tensors), as a tiny graph run by
 * onnxruntime and by the TF.js interpreter: float outputs within 1e-4 of their largest magnitude,
 * integer and bool outputs exactly. Cases marked `grad` also compare tf.grad of Σ r ⊙ y through the
 * interpreter with graft's ONNX gradient graph on onnxruntime (checked against finite differences
 * in test/train/graph).
 */
const ort = await loadOnnxRuntime();
const missing = typeof ort === 'string' ? ort : undefined;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

interface Spec {
  dims: number[];
  /** Fixed values; default uniform in [lo, hi) (−1, 1). */
  data?: Array<number | bigint>;
  kind?: 'int' | 'bool';
  lo?: number;
  hi?: number;
}
interface Case {
  name: string;
  nodes: OnnxNode[];
  tensors: Record<string, Spec>;
  /** Outputs to compare and their ONNX element type (default float). */
  outputs: Array<[string, number?]>;
  opset?: number;
  /** Compare gradients w.r.t. these float tensors (through the first output). */
  grad?: string[];
}

const n = (op: string, inputs: string[], attrs?: OnnxNode['attrs'], outputs = ['y']): OnnxNode => ({ op, inputs, outputs, attrs, name: `/${op}/${outputs[0]}` });
const x = (...dims: number[]): Spec => ({ dims });
const ints = (...data: Array<number | bigint>): Spec => ({ dims: [data.length], data, kind: 'int' });
const s = (v: string) => ({ string: v });
const f = (v: number) => ({ float: v });

const CASES: Case[] = [
  // Softmax: before opset 13 the input is flattened at axis (default 1); from 13 one axis (default −1).
  { name: 'Softmax opset 11, axis 1 (flattened)', opset: 11, nodes: [n('Softmax', ['x'], { axis: 1 })], tensors: { x: x(2, 3, 4) }, outputs: [['y']] },
  { name: 'LogSoftmax opset 11, default axis', opset: 11, nodes: [n('LogSoftmax', ['x'])], tensors: { x: x(2, 3, 4) }, outputs: [['y']] },
  { name: 'Softmax opset 13, axis 1', opset: 13, nodes: [n('Softmax', ['x'], { axis: 1 })], tensors: { x: x(2, 3, 4) }, outputs: [['y']], grad: ['x'] },
  { name: 'LogSoftmax opset 17, axis 0', nodes: [n('LogSoftmax', ['x'], { axis: 0 })], tensors: { x: x(3, 4) }, outputs: [['y']], grad: ['x'] },
  // Conv
  {
    name: 'Conv groups 2, dilations, strides, asymmetric pads, bias',
    nodes: [n('Conv', ['x', 'w', 'b'], { group: 2, dilations: [2, 1], strides: [2, 1], pads: [1, 0, 2, 1] })],
    tensors: { x: x(2, 4, 9, 8), w: x(6, 2, 3, 2), b: x(6) }, outputs: [['y']], grad: ['x', 'w', 'b'],
  },
  {
    name: 'Conv depthwise, multiplier 2, dilated, strided',
    nodes: [n('Conv', ['x', 'w'], { group: 3, dilations: [2, 2], strides: [2, 1], pads: [2, 1, 1, 2] })],
    tensors: { x: x(2, 3, 9, 8), w: x(6, 1, 3, 3) }, outputs: [['y']], grad: ['x', 'w'],
  },
  { name: 'Conv auto_pad SAME_LOWER, stride 2', nodes: [n('Conv', ['x', 'w'], { auto_pad: s('SAME_LOWER'), strides: [2, 2] })], tensors: { x: x(1, 2, 6, 7), w: x(3, 2, 2, 3) }, outputs: [['y']] },
  { name: 'Conv auto_pad SAME_UPPER, stride 3', nodes: [n('Conv', ['x', 'w'], { auto_pad: s('SAME_UPPER'), strides: [3, 3] })], tensors: { x: x(1, 2, 5, 7), w: x(3, 2, 2, 3) }, outputs: [['y']] },
  {
    name: 'Conv 1-D: stride, dilation, asymmetric pads, bias',
    nodes: [n('Conv', ['x', 'w', 'b'], { strides: [2], dilations: [2], pads: [2, 1] })],
    tensors: { x: x(2, 3, 10), w: x(4, 3, 3), b: x(4) }, outputs: [['y']], grad: ['x', 'w', 'b'],
  },
  {
    // Kept channels-last between window ops (layout.ts): BN, activations, a per-channel scale, an SE-style
    // product with a pooled [N, C, 1, 1], a residual Add, Concat on channels, then a reader that needs NCHW.
    name: 'channels-last chain: Conv, BN, HardSwish, Mul by [C,1,1], SE product, Add, Concat, MaxPool, Flatten',
    nodes: [
      n('Conv', ['x', 'w1'], { pads: [1, 1, 1, 1] }, ['c1']), n('BatchNormalization', ['c1', 'g', 'b', 'm', 'v'], undefined, ['bn']),
      n('HardSwish', ['bn'], undefined, ['h']), n('Mul', ['h', 'scale'], undefined, ['sc']),
      n('GlobalAveragePool', ['sc'], undefined, ['gp']), n('Sigmoid', ['gp'], undefined, ['gate']), n('Mul', ['gate', 'sc'], undefined, ['se']),
      n('Conv', ['se', 'w2'], { pads: [0, 1, 2, 1] }, ['c2']), n('Add', ['c2', 'sc'], undefined, ['res']),
      n('Concat', ['res', 'c1'], { axis: 1 }, ['cat']), n('MaxPool', ['cat'], { kernel_shape: [2, 2], strides: [2, 2] }, ['mp']),
      n('Flatten', ['mp']),
    ],
    tensors: { x: x(2, 3, 6, 5), w1: x(4, 3, 3, 3), g: x(4), b: x(4), m: x(4), v: { dims: [4], lo: 0.5, hi: 2 }, scale: x(4, 1, 1), w2: x(4, 4, 3, 3) },
    outputs: [['y']], grad: ['x', 'w1', 'g', 'b', 'scale', 'w2'],
  },
  // Pools
  { name: 'MaxPool padded, overlapping', nodes: [n('MaxPool', ['x'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 0, 1] })], tensors: { x: x(1, 2, 8, 7) }, outputs: [['y']], grad: ['x'] },
  { name: 'MaxPool ceil_mode', nodes: [n('MaxPool', ['x'], { kernel_shape: [3, 2], strides: [2, 2], pads: [1, 0, 0, 0], ceil_mode: 1 })], tensors: { x: x(1, 2, 8, 7) }, outputs: [['y']] },
  { name: 'AveragePool count_include_pad 0, asymmetric pads', nodes: [n('AveragePool', ['x'], { kernel_shape: [3, 2], strides: [2, 1], pads: [1, 0, 2, 1] })], tensors: { x: x(2, 2, 7, 6) }, outputs: [['y']], grad: ['x'] },
  { name: 'AveragePool count_include_pad 1', nodes: [n('AveragePool', ['x'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 })], tensors: { x: x(1, 2, 7, 6) }, outputs: [['y']], grad: ['x'] },
  { name: 'MaxPool ceil_mode, last window dropped (it would start in the end pad)', nodes: [n('MaxPool', ['x'], { kernel_shape: [2, 2], strides: [3, 3], pads: [0, 0, 1, 1], ceil_mode: 1 })], tensors: { x: x(1, 2, 5, 5) }, outputs: [['y']] },
  { name: 'AveragePool ceil_mode', nodes: [n('AveragePool', ['x'], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 })], tensors: { x: x(1, 2, 8, 6) }, outputs: [['y']] },
  { name: 'AveragePool 1-D', nodes: [n('AveragePool', ['x'], { kernel_shape: [3], strides: [2], pads: [1, 1] })], tensors: { x: x(2, 3, 9) }, outputs: [['y']] },
  { name: 'GlobalAveragePool', nodes: [n('GlobalAveragePool', ['x'])], tensors: { x: x(2, 3, 4, 5) }, outputs: [['y']], grad: ['x'] },
  { name: 'GlobalMaxPool', nodes: [n('GlobalMaxPool', ['x'])], tensors: { x: x(2, 3, 4, 5) }, outputs: [['y']] },
  // Matrix products
  { name: 'Gemm transA, transB, alpha, beta, C broadcast', nodes: [n('Gemm', ['a', 'b', 'c'], { transA: 1, transB: 1, alpha: f(0.5), beta: f(2) })], tensors: { a: x(4, 2), b: x(3, 4), c: x(3) }, outputs: [['y']], grad: ['a', 'b', 'c'] },
  { name: 'MatMul batch broadcast', nodes: [n('MatMul', ['a', 'b'])], tensors: { a: x(2, 1, 3, 4), b: x(5, 4, 2) }, outputs: [['y']], grad: ['a', 'b'] },
  { name: 'MatMul rank-1 operands', nodes: [n('MatMul', ['v', 'b'], undefined, ['p']), n('MatMul', ['p', 'v2'])], tensors: { v: x(4), b: x(2, 4, 3), v2: x(3) }, outputs: [['y']] },
  // Slices and pads
  {
    name: 'Slice negative and non-unit steps, sentinel ends',
    nodes: [n('Slice', ['x', 'st', 'en', 'ax', 'sp'])],
    tensors: { x: x(5, 6, 4), st: ints(-1, 1), en: ints(INT64_MIN, INT64_MAX), ax: ints(0, -1), sp: ints(-2, 2) }, outputs: [['y']], grad: ['x'],
  },
  { name: 'Slice unit steps, axes, ends past the end', nodes: [n('Slice', ['x', 'st', 'en', 'ax'])], tensors: { x: x(4, 6), st: ints(1, -4), en: ints(100, -1), ax: ints(1, 0) }, outputs: [['y']], grad: ['x'] },
  { name: 'Slice opset 9 (attributes)', opset: 9, nodes: [n('Slice', ['x'], { starts: [1, 0], ends: [3, Number.MAX_SAFE_INTEGER], axes: [0, 1] })], tensors: { x: x(4, 5) }, outputs: [['y']] },
  { name: 'Pad constant with value', nodes: [n('Pad', ['x', 'p', 'v'])], tensors: { x: x(1, 2, 3, 4), p: ints(0, 0, 1, 2, 0, 1, 2, 0), v: { dims: [], data: [0.75] } }, outputs: [['y']], grad: ['x'] },
  { name: 'Pad negative (crop)', nodes: [n('Pad', ['x', 'p'])], tensors: { x: x(3, 5), p: ints(-1, 2, 1, -2) }, outputs: [['y']] },
  { name: 'Pad reflect', nodes: [n('Pad', ['x', 'p'], { mode: s('reflect') })], tensors: { x: x(1, 2, 4, 5), p: ints(0, 0, 1, 2, 0, 0, 2, 1) }, outputs: [['y']] },
  { name: 'Pad edge', nodes: [n('Pad', ['x', 'p'], { mode: s('edge') })], tensors: { x: x(2, 3, 4), p: ints(0, 2, 1, 1, 0, 3) }, outputs: [['y']] },
  { name: 'Pad opset 18 with axes', opset: 18, nodes: [n('Pad', ['x', 'p', '', 'ax'])], tensors: { x: x(2, 3, 4), p: ints(1, 2, 0, 1), ax: ints(-1, 0) }, outputs: [['y']] },
  { name: 'Pad opset 2 (attributes)', opset: 2, nodes: [n('Pad', ['x'], { pads: [1, 0, 0, 2], value: f(0.5) })], tensors: { x: x(2, 3) }, outputs: [['y']] },
  // Shapes
  { name: 'Split with split input', nodes: [n('Split', ['x', 'sp'], { axis: 1 }, ['a', 'b', 'c'])], tensors: { x: x(2, 6, 2), sp: ints(2, 3, 1) }, outputs: [['a'], ['b'], ['c']], grad: ['x'] },
  { name: 'Split opset 18 num_outputs, uneven', opset: 18, nodes: [n('Split', ['x'], { axis: -1, num_outputs: 3 }, ['a', 'b', 'c'])], tensors: { x: x(2, 7) }, outputs: [['a'], ['b'], ['c']] },
  { name: 'Split opset 11 attribute', opset: 11, nodes: [n('Split', ['x'], { axis: 0, split: [1, 2] }, ['a', 'b'])], tensors: { x: x(3, 2) }, outputs: [['a'], ['b']] },
  { name: 'Squeeze/Unsqueeze opset 11 (attributes)', opset: 11, nodes: [n('Squeeze', ['x'], { axes: [1, -1] }, ['s']), n('Unsqueeze', ['s'], { axes: [0, -1] })], tensors: { x: x(2, 1, 3, 1) }, outputs: [['y']] },
  { name: 'Squeeze/Unsqueeze opset 13 (inputs)', opset: 13, nodes: [n('Squeeze', ['x', 'a1'], undefined, ['s']), n('Unsqueeze', ['s', 'a2'])], tensors: { x: x(2, 1, 3, 1), a1: ints(1), a2: ints(-1, 1) }, outputs: [['y']], grad: ['x'] },
  { name: 'Squeeze without axes', nodes: [n('Squeeze', ['x'])], tensors: { x: x(1, 3, 1, 2) }, outputs: [['y']] },
  { name: 'Reshape 0 and -1, Flatten axis 0 and -1', nodes: [n('Reshape', ['x', 'sh'], undefined, ['r']), n('Flatten', ['r'], { axis: 0 }, ['f0']), n('Flatten', ['x'], { axis: -1 }, ['f1'])], tensors: { x: x(2, 3, 4), sh: ints(0, -1, 2) }, outputs: [['r'], ['f0'], ['f1']] },
  { name: 'Transpose default perm; Concat negative axis', nodes: [n('Transpose', ['a'], undefined, ['t']), n('Concat', ['t', 'b'], { axis: -2 })], tensors: { a: x(3, 2, 4), b: x(4, 1, 3) }, outputs: [['y']], grad: ['a', 'b'] },
  { name: 'Expand two-way broadcast', nodes: [n('Expand', ['x', 'sh'])], tensors: { x: x(3, 1), sh: ints(2, 1, 4) }, outputs: [['y']], grad: ['x'] },
  { name: 'Tile', nodes: [n('Tile', ['x', 'r'])], tensors: { x: x(2, 3), r: ints(2, 1) }, outputs: [['y']] },
  {
    name: 'Shape (opset 15 start/end), Size, Gather of a shape, ConstantOfShape int',
    opset: 15,
    nodes: [
      n('Shape', ['x'], { start: 1, end: -1 }, ['sh']), n('Size', ['x'], undefined, ['sz']),
      n('Gather', ['sh', 'i'], { axis: 0 }, ['d']),
      n('ConstantOfShape', ['sh'], { value: { tensor: { name: '', dims: [1], data: BigInt64Array.of(7n) } } }, ['c']),
    ],
    tensors: { x: x(2, 3, 4, 5), i: { dims: [], data: [-1], kind: 'int' } }, outputs: [['sh', INT64], ['sz', INT64], ['d', INT64], ['c', INT64]],
  },
  { name: 'Range int and float; Cast; CastLike', nodes: [n('Range', ['a', 'b', 'c'], undefined, ['ri']), n('Range', ['fa', 'fb', 'fc'], undefined, ['rf']), n('Cast', ['ri'], { to: FLOAT }, ['cf']), n('Cast', ['x'], { to: INT64 }, ['ci']), n('CastLike', ['ri', 'x'], undefined, ['cl'])], tensors: { a: { dims: [], data: [2], kind: 'int' }, b: { dims: [], data: [11], kind: 'int' }, c: { dims: [], data: [3], kind: 'int' }, fa: { dims: [], data: [0.5] }, fb: { dims: [], data: [-2] }, fc: { dims: [], data: [-0.75] }, x: { dims: [4], data: [-2.7, -0.5, 0.4, 3.9] } }, outputs: [['ri', INT64], ['rf'], ['cf'], ['ci', INT64], ['cl']] },
  { name: 'Constant value_ints, value_float, value (tensor)', nodes: [n('Constant', [], { value_ints: [3, -1] }, ['a']), n('Constant', [], { value_float: f(2.5) }, ['b']), n('Constant', [], { value: { tensor: { name: '', dims: [2], data: Float32Array.of(1.5, -3) } } }, ['c'])], tensors: {}, outputs: [['a', INT64], ['b'], ['c']] },
  {
    name: 'Equal, Less, Greater, Not, And, Where with broadcasting',
    nodes: [n('Equal', ['i', 'j'], undefined, ['eq']), n('Less', ['x', 'z'], undefined, ['lt']), n('Greater', ['x', 'z'], undefined, ['gt']), n('Not', ['lt'], undefined, ['nl']), n('And', ['nl', 'eq'], undefined, ['an']), n('Where', ['gt', 'x', 'z'])],
    tensors: { i: ints(1, 2, 3), j: ints(1, 5, 3), x: x(2, 3), z: x(3) }, outputs: [['y'], ['eq', BOOL], ['lt', BOOL], ['an', BOOL]], grad: ['x', 'z'],
  },
  { name: 'Gather axis 1, negative indices', nodes: [n('Gather', ['x', 'i'], { axis: 1 })], tensors: { x: x(2, 5, 3), i: { dims: [2, 2], data: [-1, 0, 3, -5], kind: 'int' } }, outputs: [['y']], grad: ['x'] },
  { name: 'Gather scalar index, axis 0', nodes: [n('Gather', ['x', 'i'])], tensors: { x: x(4, 3), i: { dims: [], data: [2], kind: 'int' } }, outputs: [['y']], grad: ['x'] },
  { name: 'GatherElements axis 1, negative indices', nodes: [n('GatherElements', ['x', 'i'], { axis: 1 })], tensors: { x: x(2, 4, 3), i: { dims: [2, 2, 3], data: [0, -1, 2, 3, 1, 0, -4, 2, 1, 0, 0, 3], kind: 'int' } }, outputs: [['y']] },
  // Reductions
  { name: 'ReduceMean opset 13 (attribute axes), keepdims 0', opset: 13, nodes: [n('ReduceMean', ['x'], { axes: [0, -1], keepdims: 0 })], tensors: { x: x(2, 3, 4) }, outputs: [['y']], grad: ['x'] },
  { name: 'ReduceMean opset 18 (axes input)', opset: 18, nodes: [n('ReduceMean', ['x', 'a'])], tensors: { x: x(2, 3, 4), a: ints(1) }, outputs: [['y']], grad: ['x'] },
  { name: 'ReduceSum noop_with_empty_axes; ReduceMax all', nodes: [n('ReduceSum', ['x'], { noop_with_empty_axes: 1 }, ['s']), n('ReduceMax', ['x'], { keepdims: 0 }, ['m'])], tensors: { x: x(2, 3) }, outputs: [['s'], ['m']] },
  // Normalisation
  { name: 'LayerNormalization axis −2 with Mean and InvStdDev', nodes: [n('LayerNormalization', ['x', 'g', 'b'], { axis: -2, epsilon: f(1e-3) }, ['y', 'mu', 'inv'])], tensors: { x: x(2, 3, 4), g: x(3, 4), b: x(3, 4) }, outputs: [['y'], ['mu'], ['inv']], grad: ['x', 'g', 'b'] },
  { name: 'BatchNormalization (inference) rank 3', nodes: [n('BatchNormalization', ['x', 'g', 'b', 'm', 'v'], { epsilon: f(1e-3) })], tensors: { x: x(2, 3, 5), g: x(3), b: x(3), m: x(3), v: { dims: [3], lo: 0.5, hi: 2 } }, outputs: [['y']], grad: ['x', 'g', 'b'] },
  // Activations and element-wise
  { name: 'Gelu tanh (opset 20)', opset: 20, nodes: [n('Gelu', ['x'], { approximate: s('tanh') })], tensors: { x: { dims: [3, 4], lo: -3, hi: 3 } }, outputs: [['y']] },
  { name: 'Gelu exact (opset 20), Erf', opset: 20, nodes: [n('Gelu', ['x'], undefined, ['g']), n('Erf', ['x'])], tensors: { x: { dims: [3, 4], lo: -3, hi: 3 } }, outputs: [['y'], ['g']] },
  { name: 'HardSigmoid α β, HardSwish', nodes: [n('HardSigmoid', ['x'], { alpha: f(0.3), beta: f(0.4) }, ['h']), n('HardSwish', ['x'])], tensors: { x: { dims: [4, 5], lo: -5, hi: 5 } }, outputs: [['y'], ['h']], grad: ['x'] },
  { name: 'PRelu broadcast slope, LeakyRelu α', nodes: [n('PRelu', ['x', 'sl']), n('LeakyRelu', ['x'], { alpha: f(0.2) }, ['l'])], tensors: { x: x(2, 3, 2, 2), sl: x(3, 1, 1) }, outputs: [['y'], ['l']], grad: ['x', 'sl'] },
  { name: 'Clip with only max; Elu α', nodes: [n('Clip', ['x', '', 'hi']), n('Elu', ['x'], { alpha: f(0.5) }, ['e'])], tensors: { x: x(3, 4), hi: { dims: [], data: [0.25] } }, outputs: [['y'], ['e']], grad: ['x'] },
  { name: 'Sum of three, Pow by int, Sqrt, Log, Reciprocal, Div, Sub', nodes: [n('Sum', ['a', 'b', 'c'], undefined, ['s']), n('Pow', ['a', 'two'], undefined, ['p']), n('Sqrt', ['c'], undefined, ['q']), n('Log', ['c'], undefined, ['l']), n('Reciprocal', ['c'], undefined, ['r']), n('Div', ['a', 'c'], undefined, ['d']), n('Sub', ['s', 'd'])], tensors: { a: x(2, 3), b: x(3), c: { dims: [2, 3], lo: 0.5, hi: 2 }, two: { dims: [], data: [2], kind: 'int' } }, outputs: [['y'], ['p'], ['q'], ['l'], ['r']] },
  { name: 'SoftmaxCrossEntropyLoss with weights and ignore_index', nodes: [n('SoftmaxCrossEntropyLoss', ['x', 'lab', 'w'], { ignore_index: 1 }, ['y', 'lp'])], tensors: { x: x(5, 4), lab: ints(0, 1, 3, 2, 3), w: { dims: [4], lo: 0.5, hi: 2 } }, outputs: [['y'], ['lp']] },
  { name: 'Dropout (inference, ratio input, mask output), Identity', nodes: [n('Dropout', ['x', 'ratio'], undefined, ['d', 'mask']), n('Identity', ['d'])], tensors: { x: x(3, 4), ratio: { dims: [], data: [0.5] } }, outputs: [['y'], ['mask', BOOL]], grad: ['x'] },
  { name: 'SoftmaxCrossEntropyLoss reduction none', nodes: [n('SoftmaxCrossEntropyLoss', ['x', 'lab'], { reduction: s('none') })], tensors: { x: x(5, 4), lab: ints(0, 1, 3, 2, 3) }, outputs: [['y']] },
];

function onnxInit(name: string, spec: Spec, values: Array<number | bigint>): OnnxInitializer {
  if (spec.kind === 'int') return { name, dims: spec.dims, data: BigInt64Array.from(values, (v) => BigInt(v)) };
  if (spec.kind === 'bool') return { name, dims: spec.dims, data: Uint8Array.from(values, Number), dataType: BOOL };
  return { name, dims: spec.dims, data: Float32Array.from(values, Number) };
}

function valuesOf(c: Case): Map<string, Array<number | bigint>> {
  const rng = new Rng(c.name.length * 31 + 7);
  return new Map(Object.entries(c.tensors).map(([name, sp]) => {
    const size = sp.dims.reduce((a, b) => a * b, 1);
    return [name, sp.data ?? Array.from({ length: size }, () => (sp.lo ?? -1) + rng.next() * ((sp.hi ?? 1) - (sp.lo ?? -1)))];
  }));
}

const encode = (graph: OnnxGraph, opset: number): Uint8Array => encodeOnnxModel({ irVersion: 10, producerName: 'graft-test', opsets: [{ domain: '', version: opset }], graphName: 'case', graph });

function compare(label: string, got: ArrayLike<number>, want: ArrayLike<number | bigint>): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  const w = Array.from(want, Number);
  const scale = Math.max(1e-6, ...w.map(Math.abs));
  let worst = 0;
  let at = 0;
  w.forEach((v, i) => {
    const d = Math.abs(got[i]! - v);
    if (!(d <= worst)) [worst, at] = [Number.isNaN(d) ? Infinity : d, i];
  });
  expect(worst / scale, `${label}: element ${at} TF.js ${got[at]} vs onnxruntime ${w[at]}`).toBeLessThan(1e-4);
}

beforeAll(async () => {
  await useBackend();
});

describe.skipIf(missing)('ONNX ops on TF.js against onnxruntime', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const o = ort as typeof Ort;
      const opset = c.opset ?? 17;
      const raw = valuesOf(c);
      const inits = [...raw].map(([name, v]) => onnxInit(name, c.tensors[name]!, v));
      const graph: OnnxGraph = { nodes: c.nodes, inputs: [], initializers: inits, outputs: c.outputs.map(([name, type]) => ({ name, type: type ?? FLOAT })) };
      const session = await o.InferenceSession.create(encode(graph, opset), { logSeverityLevel: 3 });
      const want = await session.run({});
      await session.release();

      const before = tf.memory().numTensors;
      const values = new Map(inits.map((t) => [t.name, onnxTensorToTf(t)]));
      const got = runOnnxOnTf(c.nodes, values, c.outputs.map(([name]) => name), { opset });
      c.outputs.forEach(([name], i) => {
        const w = want[name]!;
        expect(got[i]!.shape, `${name}: shape`).toEqual([...w.dims]);
        compare(name, got[i]!.dataSync() as ArrayLike<number>, w.data as ArrayLike<number | bigint>);
      });
      got.forEach((t) => t.dispose());

      if (c.grad) {
        // Σ r ⊙ y with a fixed random r: every element of y's gradient matters.
        const first = want[c.outputs[0]![0]]!;
        const rng = new Rng(99);
        const r: OnnxInitializer = { name: 'r', dims: [...first.dims], data: Float32Array.from({ length: first.size }, () => rng.next() * 2 - 1) };
        const lossNodes: OnnxNode[] = [...c.nodes, { op: 'Mul', inputs: [c.outputs[0]![0], 'r'], outputs: ['weighted'] }, { op: 'ReduceSum', inputs: ['weighted'], outputs: ['loss'], attrs: { keepdims: 0 } }];
        const built = buildGradientGraph({ ...graph, nodes: lossNodes, initializers: [...inits, r], outputs: [{ name: 'loss', type: FLOAT, shape: [] }] }, { loss: 'loss', trainable: c.grad, opset: Math.max(opset, 17) });
        const gs = await o.InferenceSession.create(encode(built.graph, Math.max(opset, 17)), { logSeverityLevel: 3 });
        const feeds: Record<string, Ort.Tensor> = {};
        for (const p of built.params) feeds[p.name] = new o.Tensor('float32', p.data as Float32Array, p.dims);
        const ref = await gs.run(feeds);
        await gs.release();
        const rt = tf.tensor(r.data as Float32Array, r.dims);
        const grads = tf.grads((...xs: tf.Tensor[]) => {
          const vals = new Map(values);
          c.grad!.forEach((name, i) => vals.set(name, xs[i]!));
          const [y] = runOnnxOnTf(c.nodes, vals, [c.outputs[0]![0]], { opset });
          return tf.sum(tf.mul(y!, rt));
        })(c.grad.map((name) => values.get(name)!));
        c.grad.forEach((name, i) => compare(`d loss / d ${name}`, grads[i]!.dataSync() as Float32Array, ref[`grad.${name}`]!.data as Float32Array));
        grads.forEach((g) => g.dispose());
        rt.dispose();
      }
      values.forEach((t) => t.dispose());
      expect(tf.memory().numTensors, 'tensors left behind').toBe(before);
    });
  }
});
