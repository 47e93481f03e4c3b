import type { OnnxGraph, OnnxNode, OnnxTensor } from '../../engine/onnx/model-proto.js';
import { intAttr, intsAttr } from './attrs.js';

/**
 * What the gradients may know about a tensor before the graph runs: its rank (propagated through
 * the ops below) and, for initializers, Constant nodes and fully sized graph inputs, its dims.
 * Everything else about shapes is read at run time with Shape ops, so one gradient graph serves
 * every batch size; a later shape-inference pass can turn those into constants.
 */
export interface Facts {
  rank(name: string): number | undefined;
  dims(name: string): number[] | undefined;
  /** The value of an int64 initializer or Constant (Reshape's shape, Unsqueeze's axes). */
  ints(name: string): number[] | undefined;
}

const SAME_RANK = new Set([
  'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Clip', 'HardSigmoid', 'HardSwish', 'Erf', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Neg', 'Abs',
  'Softmax', 'LogSoftmax', 'Identity', 'Dropout', 'Cast', 'Transpose', 'Conv', 'ConvTranspose', 'MaxPool', 'AveragePool',
  'GlobalAveragePool', 'GlobalMaxPool', 'BatchNormalization', 'LayerNormalization', 'Concat', 'Slice', 'Split', 'Pad', 'Not',
  'CastLike', 'Sin', 'Cos', 'Floor', 'Ceil', 'Round', 'Sign', 'Softplus', 'Softsign', 'Elu', 'Selu', 'Celu', 'Gelu', 'Mish', 'InstanceNormalization', 'LRN',
]);
const BROADCASTING = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Where', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Sum', 'Max', 'Min', 'And', 'Or', 'PRelu']);
const REDUCE = new Set(['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'ReduceL2']);

export function inferFacts(graph: OnnxGraph, order: readonly OnnxNode[]): Facts {
  const ranks = new Map<string, number>();
  const dims = new Map<string, number[]>();
  const values = new Map<string, OnnxTensor>();
  for (const t of graph.initializers) {
    dims.set(t.name, t.dims);
    values.set(t.name, t);
  }
  for (const v of graph.inputs) {
    if (!v.shape) continue;
    ranks.set(v.name, v.shape.length);
    if (v.shape.every((d) => typeof d === 'number')) dims.set(v.name, v.shape as number[]);
  }
  for (const [name, d] of dims) ranks.set(name, d.length);
  const ints = (name: string): number[] | undefined => {
    const t = values.get(name);
    return t && t.data instanceof BigInt64Array ? Array.from(t.data, Number) : undefined;
  };
  // Static lengths of 1-D int64 tensors (shapes being computed): Reshape's output rank is its shape's length.
  const lengths = new Map<string, number>();
  for (const [name, d] of dims) if (d.length === 1) lengths.set(name, d[0]!);
  for (const node of order) {
    const len = shapeLength(node, (n) => ranks.get(n), (n) => lengths.get(n), ints);
    if (len !== undefined) lengths.set(node.outputs[0]!, len);
    if (node.op === 'Constant') {
      const v = node.attrs?.value;
      if (v && typeof v === 'object' && 'tensor' in v) {
        values.set(node.outputs[0]!, v.tensor);
        dims.set(node.outputs[0]!, v.tensor.dims);
        ranks.set(node.outputs[0]!, v.tensor.dims.length);
        if (v.tensor.dims.length === 1) lengths.set(node.outputs[0]!, v.tensor.dims[0]!);
      }
      continue;
    }
    // Reshape to a constant shape of positive sizes: the output has exactly those dims (a weight
    // rearranged in the graph, e.g. a depthwise kernel, whose grouped-conv gradient needs them).
    const target = node.op === 'Reshape' ? ints(node.inputs[1] ?? '') : undefined;
    if (target && target.every((d) => d > 0)) dims.set(node.outputs[0]!, target);
    // A transposed weight (TF.js's HWIO kernel read as OIHW): its Conv's weight gradient picks its form by the dims.
    const from = node.op === 'Transpose' ? dims.get(node.inputs[0] ?? '') : undefined;
    const perm = from ? (intsAttr(node, 'perm') ?? from.map((_, i) => from.length - 1 - i)) : undefined;
    if (from && perm) dims.set(node.outputs[0]!, perm.map((p) => from[p]!));
    // A sliced weight (the stride-1 input gradient's flipped kernel, ops/conv.ts).
    const sliced = node.op === 'Slice' ? sliceDims(dims.get(node.inputs[0] ?? ''), node.inputs.slice(1).map((i) => ints(i ?? ''))) : undefined;
    if (sliced) dims.set(node.outputs[0]!, sliced);
    const r = outputRank(node, (n) => ranks.get(n), ints, (n) => lengths.get(n));
    if (r === undefined) continue;
    for (const o of node.outputs) if (o) ranks.set(o, r);
  }
  return { rank: (n) => ranks.get(n), dims: (n) => dims.get(n), ints };
}

/** A Slice's output dims from its input's dims and constant starts, ends, axes and steps (ONNX's clamping). */
function sliceDims(from: number[] | undefined, [starts, ends, axes, steps]: Array<number[] | undefined>): number[] | undefined {
  if (!from || !starts || !ends) return undefined;
  const out = [...from];
  for (let j = 0; j < starts.length; j++) {
    const a = axes?.[j] ?? j;
    const axis = a < 0 ? a + from.length : a;
    const n = from[axis];
    const step = steps?.[j] ?? 1;
    if (n === undefined || step === 0) return undefined;
    const at = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v < 0 ? v + n : v));
    const [s, e] = step > 0 ? [at(starts[j]!, 0, n), at(ends[j]!, 0, n)] : [at(starts[j]!, -1, n - 1), at(ends[j]!, -1, n - 1)];
    out[axis] = Math.max(0, Math.ceil((e - s) / step));
  }
  return out;
}

/** The length of a 1-D tensor a shape computation produces, when it is fixed. */
function shapeLength(node: OnnxNode, rank: (n: string) => number | undefined, length: (n: string) => number | undefined, ints: (n: string) => number[] | undefined): number | undefined {
  const first = node.inputs[0] ?? '';
  switch (node.op) {
    case 'Shape': {
      const r = rank(first);
      if (r === undefined) return undefined;
      const clamp = (v: number): number => Math.min(r, Math.max(0, v < 0 ? v + r : v));
      return clamp(intAttr(node, 'end', r)) - clamp(intAttr(node, 'start', 0));
    }
    case 'Concat': {
      const ls = node.inputs.map(length);
      return ls.every((l) => l !== undefined) ? (ls as number[]).reduce((a, b) => a + b, 0) : undefined;
    }
    case 'Unsqueeze':
      return rank(first) === 0 ? 1 : undefined;
    case 'Cast':
    case 'Identity':
    case 'Abs':
    case 'Neg':
      return length(first);
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
    case 'Max':
    case 'Min':
    case 'Where': {
      const ls = node.inputs.map((i) => (rank(i) === 0 ? 1 : length(i)));
      return ls.every((l) => l !== undefined) ? Math.max(...(ls as number[])) : undefined;
    }
    case 'Slice': {
      const l = length(first);
      const [starts, ends] = [ints(node.inputs[1] ?? ''), ints(node.inputs[2] ?? '')];
      if (l === undefined || !starts || !ends || (node.inputs[4] && ints(node.inputs[4])?.[0] !== 1)) return undefined;
      const clamp = (v: number): number => Math.min(l, Math.max(0, v < 0 ? v + l : v));
      return Math.max(0, clamp(ends[0]!) - clamp(starts[0]!));
    }
    default:
      return undefined;
  }
}

function outputRank(node: OnnxNode, rank: (n: string) => number | undefined, ints: (n: string) => number[] | undefined, length: (n: string) => number | undefined): number | undefined {
  const r0 = rank(node.inputs[0] ?? '');
  const { op } = node;
  if (SAME_RANK.has(op)) return r0;
  if (BROADCASTING.has(op)) {
    const rs = node.inputs.map(rank);
    return rs.some((r) => r === undefined) ? undefined : Math.max(...(rs as number[]));
  }
  if (op === 'Gemm' || op === 'Flatten') return 2;
  if (op === 'MatMul') {
    const r1 = rank(node.inputs[1]!);
    return r0 !== undefined && r1 !== undefined && r0 >= 2 && r1 >= 2 ? Math.max(r0, r1) : undefined;
  }
  if (op === 'Reshape') return length(node.inputs[1]!);
  if (op === 'ConstantOfShape') return length(node.inputs[0]!);
  if (op === 'Expand') {
    const n = length(node.inputs[1]!);
    return n !== undefined && r0 !== undefined ? Math.max(n, r0) : undefined;
  }
  const axes = intsAttr(node, 'axes') ?? (node.inputs[1] ? ints(node.inputs[1]) : undefined);
  if (op === 'Unsqueeze') return r0 !== undefined && axes ? r0 + axes.length : undefined;
  if (op === 'Squeeze') return r0 !== undefined && axes ? r0 - axes.length : undefined;
  if (REDUCE.has(op)) {
    if (r0 === undefined) return undefined;
    if (intAttr(node, 'keepdims', 1)) return r0;
    return axes ? r0 - axes.length : 0;
  }
  if (op === 'Gather') {
    const ri = rank(node.inputs[1]!);
    return r0 !== undefined && ri !== undefined ? r0 - 1 + ri : undefined;
  }
  if (op === 'Shape') return 1;
  if (op === 'Size') return 0;
  if (op === 'SoftmaxCrossEntropyLoss') return undefined; // two outputs of different ranks: the loss's own gradient needs neither
  return undefined;
}
