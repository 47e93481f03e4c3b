import { INT64, type OnnxNode } from '../../engine/onnx/model-proto.js';
import { dimProduct, intAttr, intsAttr, normAxis, stringAttr, type Dim, type TensorFacts } from './tensor-facts.js';
import { broadcastShapes } from './value-ops.js';

/**
 * Shape rules of the network ops: convolution, pooling, matrix products, normalisation and
 * reductions. Each takes the node and what is known of its inputs and returns its outputs' facts
 * (undefined: unknown). The formulas are the ONNX operator definitions.
 */
export type ShapeRule = (node: OnnxNode, ins: ReadonlyArray<TensorFacts | undefined>) => Array<TensorFacts | undefined>;

const unknown = (type: number): TensorFacts => ({ type, shape: null });

/** Output size of one spatial axis of a convolution or pooling window. */
function windowOut(size: Dim, kernel: number, stride: number, dilation: number, padBegin: number, padEnd: number, autoPad: string, ceil: boolean): Dim {
  if (typeof size !== 'number') return null;
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(size / stride);
  const span = (kernel - 1) * dilation + 1;
  if (autoPad === 'VALID') return Math.floor((size - span) / stride) + 1;
  const room = size + padBegin + padEnd - span;
  if (!ceil) return Math.floor(room / stride) + 1;
  let out = Math.ceil(room / stride) + 1;
  // As PyTorch and onnxruntime: the last window must start inside the input or its left padding.
  if ((out - 1) * stride >= size + padBegin) out--;
  return out;
}

/** Spatial output dims for Conv and the pools. */
function spatial(node: OnnxNode, x: readonly Dim[], kernel: readonly number[], ceil: boolean): Dim[] {
  const n = kernel.length;
  const strides = intsAttr(node, 'strides') ?? new Array<number>(n).fill(1);
  const dilations = intsAttr(node, 'dilations') ?? new Array<number>(n).fill(1);
  const pads = intsAttr(node, 'pads') ?? new Array<number>(2 * n).fill(0);
  const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
  return kernel.map((k, i) => windowOut(x[2 + i] ?? null, k, strides[i]!, dilations[i]!, pads[i]!, pads[n + i]!, autoPad, ceil));
}

const conv: ShapeRule = (node, [x, w]) => {
  if (!x?.shape || !w?.shape) return [unknown(x?.type ?? w?.type ?? 1)];
  const kernel = intsAttr(node, 'kernel_shape') ?? w.shape.slice(2);
  if (!kernel.every((k): k is number => typeof k === 'number')) return [unknown(x.type)];
  return [{ type: x.type, shape: [x.shape[0] ?? null, w.shape[0] ?? null, ...spatial(node, x.shape, kernel, false)] }];
};

/** ConvTranspose: s·(in − 1) + output_padding + d·(k − 1) + 1 − pads, or output_shape where given. */
const convTranspose: ShapeRule = (node, [x, w]) => {
  if (!x?.shape || !w?.shape) return [unknown(x?.type ?? w?.type ?? 1)];
  const kernel = intsAttr(node, 'kernel_shape') ?? w.shape.slice(2);
  const n = kernel.length;
  const channels = typeof w.shape[1] === 'number' ? w.shape[1] * intAttr(node, 'group', 1) : null;
  const given = intsAttr(node, 'output_shape');
  const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
  const strides = intsAttr(node, 'strides') ?? new Array<number>(n).fill(1);
  const dilations = intsAttr(node, 'dilations') ?? new Array<number>(n).fill(1);
  const pads = intsAttr(node, 'pads') ?? new Array<number>(2 * n).fill(0);
  const extra = intsAttr(node, 'output_padding') ?? new Array<number>(n).fill(0);
  const dims = kernel.map((k, i): Dim => {
    const size = x.shape![2 + i];
    if (given) return given[given.length - n + i] ?? null;
    if (typeof size !== 'number' || typeof k !== 'number') return null;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return size * strides[i]!;
    const full = strides[i]! * (size - 1) + extra[i]! + (k - 1) * dilations[i]! + 1;
    return autoPad === 'VALID' ? full : full - pads[i]! - pads[n + i]!;
  });
  return [{ type: x.type, shape: [x.shape[0] ?? null, channels, ...dims] }];
};

const pool: ShapeRule = (node, [x]) => {
  const kernel = intsAttr(node, 'kernel_shape');
  if (!x?.shape || !kernel) return [unknown(x?.type ?? 1), unknown(INT64)];
  const shape = [x.shape[0] ?? null, x.shape[1] ?? null, ...spatial(node, x.shape, kernel, intAttr(node, 'ceil_mode', 0) === 1)];
  return [{ type: x.type, shape }, { type: INT64, shape }];
};

const globalPool: ShapeRule = (_node, [x]) => {
  if (!x?.shape) return [unknown(x?.type ?? 1)];
  return [{ type: x.type, shape: x.shape.map((d, i) => (i < 2 ? d : 1)) }];
};

const gemm: ShapeRule = (node, [a, b]) => {
  if (!a?.shape || !b?.shape || a.shape.length !== 2 || b.shape.length !== 2) return [unknown(a?.type ?? 1)];
  const m = intAttr(node, 'transA', 0) ? a.shape[1]! : a.shape[0]!;
  const n = intAttr(node, 'transB', 0) ? b.shape[0]! : b.shape[1]!;
  return [{ type: a.type, shape: [m, n] }];
};

const matMul: ShapeRule = (_node, [a, b]) => {
  if (!a?.shape || !b?.shape || a.shape.length === 0 || b.shape.length === 0) return [unknown(a?.type ?? 1)];
  // numpy.matmul: a 1-D operand gains an axis that the result then drops.
  const left = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
  const right = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
  const batch = broadcastShapes([left.slice(0, -2), right.slice(0, -2)])!;
  const shape = [...batch, ...(a.shape.length === 1 ? [] : [left[left.length - 2]!]), ...(b.shape.length === 1 ? [] : [right[right.length - 1]!])];
  return [{ type: a.type, shape }];
};

const sameAsFirst: ShapeRule = (node, [x]) => node.outputs.map(() => (x ? { type: x.type, shape: x.shape } : undefined));

const batchNorm: ShapeRule = (node, [x, scale]) => node.outputs.map((_, i) => (i === 0 ? (x ? { type: x.type, shape: x.shape } : undefined) : scale ? { type: scale.type, shape: scale.shape } : undefined));

const layerNorm: ShapeRule = (node, [x]) => {
  if (!x?.shape) return node.outputs.map((_, i) => unknown(i === 0 ? (x?.type ?? 1) : 1));
  const axis = normAxis(intAttr(node, 'axis', -1), x.shape.length);
  const stats = x.shape.map((d, i) => (i < axis ? d : 1));
  return node.outputs.map((_, i) => (i === 0 ? { type: x.type, shape: x.shape } : { type: x.type, shape: stats }));
};

/** ReduceMean/Sum/Max/…: axes from the attribute (old opsets) or the second input (newer ones). */
const reduce: ShapeRule = (node, [x, axesIn]) => {
  if (!x?.shape) return [unknown(x?.type ?? 1)];
  let axes = intsAttr(node, 'axes');
  if (!axes && axesIn) {
    if (!axesIn.value?.every((v): v is number => typeof v === 'number')) return [unknown(x.type)];
    axes = axesIn.value;
  }
  const keep = intAttr(node, 'keepdims', 1) === 1;
  const rank = x.shape.length;
  if (!axes || axes.length === 0) {
    if (intAttr(node, 'noop_with_empty_axes', 0) === 1) return [{ type: x.type, shape: x.shape }];
    axes = x.shape.map((_, i) => i);
  }
  const set = new Set(axes.map((a) => normAxis(a, rank)));
  const shape = x.shape.flatMap((d, i) => (set.has(i) ? (keep ? [1] : []) : [d]));
  return [{ type: x.type, shape }];
};

const flatten: ShapeRule = (node, [x]) => {
  if (!x?.shape) return [unknown(x?.type ?? 1)];
  const axis = normAxis(intAttr(node, 'axis', 1), x.shape.length);
  return [{ type: x.type, shape: [dimProduct(x.shape.slice(0, axis)), dimProduct(x.shape.slice(axis))], ...(x.value ? { value: x.value } : {}) }];
};

export const NN_RULES: Readonly<Record<string, ShapeRule>> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool,
  AveragePool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  Gemm: gemm,
  MatMul: matMul,
  BatchNormalization: batchNorm,
  InstanceNormalization: sameAsFirst,
  LayerNormalization: layerNorm,
  Softmax: sameAsFirst,
  LogSoftmax: sameAsFirst,
  Hardmax: sameAsFirst,
  ReduceMean: reduce,
  ReduceSum: reduce,
  ReduceMax: reduce,
  ReduceMin: reduce,
  ReduceProd: reduce,
  ReduceL1: reduce,
  ReduceL2: reduce,
  ReduceSumSquare: reduce,
  ReduceLogSumExp: reduce,
  Flatten: flatten,
};
