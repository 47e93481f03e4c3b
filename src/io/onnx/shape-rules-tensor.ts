import { BOOL, FLOAT, INT64, tensorDataType, type OnnxNode } from '../../engine/onnx/model-proto.js';
import type { ShapeRule } from './shape-rules-nn.js';
import { MAX_VALUE_ELEMENTS, elementCount, intAttr, intsAttr, isConstant, normAxis, strides, tensorAttr, tensorValues, type Dim, type Scalar, type TensorFacts } from './tensor-facts.js';
import { broadcastMap, broadcastShapes, permute, toType } from './value-ops.js';

/**
 * Shape rules of the ops that move, select or describe data: Reshape, Transpose, Concat, Slice,
 * Gather, Shape, ConstantOfShape… These also carry small known values through, which is what makes
 * the Shape → Gather → Concat → Reshape chains of exporters static.
 */

const unknown = (type: number): TensorFacts => ({ type, shape: null });

/** A tensor's known elements as plain numbers (no 'N', no unknown), if that much is known. */
function numbers(f: TensorFacts | undefined): number[] | undefined {
  return f && isConstant(f.value) ? f.value : undefined;
}

/** Facts with a value, dropping the value when the tensor is too large to track. */
function withValue(type: number, shape: Dim[], value: Scalar[] | undefined): TensorFacts {
  const n = elementCount(shape);
  return value && n !== null && n <= MAX_VALUE_ELEMENTS && value.length === n ? { type, shape, value } : { type, shape };
}

/** Axes from an attribute (older opsets) or the second input (newer ones); null: not known. */
function axesOf(node: OnnxNode, input: TensorFacts | undefined): number[] | undefined | null {
  const attr = intsAttr(node, 'axes');
  if (attr) return attr;
  if (!input) return undefined;
  return numbers(input) ?? null;
}

const reshape: ShapeRule = (node, [x, shapeIn]) => {
  const target = shapeIn?.value;
  if (!x || !target) return [unknown(x?.type ?? FLOAT)];
  const allowZero = intAttr(node, 'allowzero', 0) === 1;
  const out: Dim[] = target.map((s, i) => (s === 0 && !allowZero ? (x.shape?.[i] ?? null) : s === -1 ? -1 : s));
  const hole = out.indexOf(-1);
  if (hole >= 0) out[hole] = inferHole(x.shape, out.filter((_, i) => i !== hole));
  return [withValue(x.type, out, x.value)];
};

/** The -1 of a Reshape: the input's element count over the others', batch factors cancelling. */
function inferHole(input: readonly Dim[] | null, rest: readonly Dim[]): Dim {
  if (!input || input.includes(null) || rest.includes(null)) return null;
  const count = (dims: readonly Dim[]): [number, number] => [dims.reduce<number>((p, d) => (typeof d === 'number' ? p * d : p), 1), dims.filter((d) => d === 'N').length];
  const [inKnown, inBatch] = count(input);
  const [restKnown, restBatch] = count(rest);
  if (restKnown === 0) return null;
  if (inBatch === restBatch) return inKnown / restKnown;
  return inBatch === restBatch + 1 && inKnown === restKnown ? 'N' : null;
}

const transpose: ShapeRule = (node, [x]) => {
  if (!x?.shape) return [unknown(x?.type ?? FLOAT)];
  const perm = intsAttr(node, 'perm') ?? x.shape.map((_, i) => x.shape!.length - 1 - i);
  const shape = perm.map((p) => x.shape![p] ?? null);
  const dims = x.shape.every((d): d is number => typeof d === 'number') ? x.shape : undefined;
  return [withValue(x.type, shape, x.value && dims ? permute(x.value, dims, perm) : undefined)];
};

const squeeze: ShapeRule = (node, [x, axesIn]) => {
  const axes = axesOf(node, axesIn);
  if (!x?.shape || axes === null) return [unknown(x?.type ?? FLOAT)];
  // Without axes every 1 goes; a dimension unknown until run time might be 1.
  if (axes === undefined && x.shape.some((d) => typeof d !== 'number')) return [unknown(x.type)];
  const drop = new Set(axes ? axes.map((a) => normAxis(a, x.shape!.length)) : x.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
  return [withValue(x.type, x.shape.filter((_, i) => !drop.has(i)), x.value)];
};

const unsqueeze: ShapeRule = (node, [x, axesIn]) => {
  const axes = axesOf(node, axesIn);
  if (!x?.shape || !axes) return [unknown(x?.type ?? FLOAT)];
  const rank = x.shape.length + axes.length;
  const at = new Set(axes.map((a) => normAxis(a, rank)));
  const shape: Dim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(at.has(i) ? 1 : (x.shape[k++] ?? null));
  return [withValue(x.type, shape, x.value)];
};

const concat: ShapeRule = (node, ins) => {
  const parts = ins.filter((f): f is TensorFacts => f !== undefined);
  const first = parts[0];
  if (!first || parts.some((p) => !p.shape)) return [unknown(first?.type ?? FLOAT)];
  const rank = first.shape!.length;
  const axis = normAxis(intAttr(node, 'axis', 0), rank);
  const shape = first.shape!.map((d, i): Dim => {
    if (i !== axis) return parts.map((p) => p.shape![i]!).find((x) => typeof x === 'number') ?? d;
    let sum = 0;
    for (const p of parts) {
      const pd = p.shape![i]!;
      if (typeof pd !== 'number') return null;
      sum += pd;
    }
    return sum;
  });
  let value: Scalar[] | undefined;
  if (parts.every((p) => p.value) && shape.every((d): d is number => typeof d === 'number')) {
    // Concatenation along `axis`: for each outer index, each part's block in turn.
    const outer = shape.slice(0, axis).reduce((p, d) => p * d, 1);
    value = [];
    for (let o = 0; o < outer; o++) {
      for (const p of parts) {
        const block = p.value!.length / outer;
        value.push(...p.value!.slice(o * block, (o + 1) * block));
      }
    }
  }
  return [withValue(first.type, shape, value)];
};

/** One axis of a Slice: [start, step, count] after clamping, or null when the size is unknown. */
function sliceAxis(dim: Dim, start: number, end: number, step: number): [number, number, number] | 'whole' | null {
  if (typeof dim !== 'number') {
    // All of a run-time dimension is still that dimension.
    return start === 0 && step === 1 && end >= Number.MAX_SAFE_INTEGER / 2 ? 'whole' : null;
  }
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
  } else {
    s = clamp(s, 0, dim - 1);
    e = clamp(e, -1, dim - 1);
  }
  return [s, step, Math.max(0, Math.ceil((e - s) / step))];
}

const slice: ShapeRule = (node, [x, startsIn, endsIn, axesIn, stepsIn]) => {
  // Opset < 10 keeps starts/ends/axes as attributes.
  const starts = intsAttr(node, 'starts') ?? numbers(startsIn);
  const ends = intsAttr(node, 'ends') ?? numbers(endsIn);
  const axes = intsAttr(node, 'axes') ?? (axesIn ? numbers(axesIn) : starts?.map((_, i) => i));
  const steps = stepsIn ? numbers(stepsIn) : starts?.map(() => 1);
  if (!x?.shape || !starts || !ends || !axes || !steps) return [unknown(x?.type ?? FLOAT)];
  const shape = [...x.shape];
  const picks: Array<[number, number, number] | undefined> = x.shape.map(() => undefined);
  for (let k = 0; k < axes.length; k++) {
    const axis = normAxis(axes[k]!, x.shape.length);
    const r = sliceAxis(x.shape[axis]!, starts[k]!, ends[k]!, steps[k]!);
    if (r === 'whole') continue;
    shape[axis] = r ? r[2] : null;
    picks[axis] = r ?? undefined;
  }
  let value: Scalar[] | undefined;
  const dims = x.shape.every((d): d is number => typeof d === 'number') ? x.shape : undefined;
  if (x.value && dims && shape.every((d): d is number => typeof d === 'number')) {
    const inStrides = strides(dims);
    const outStrides = strides(shape);
    const total = shape.reduce((p, d) => p * d, 1);
    value = [];
    for (let k = 0; k < total; k++) {
      let rest = k;
      let at = 0;
      for (let i = 0; i < shape.length; i++) {
        const q = Math.floor(rest / outStrides[i]!);
        rest -= q * outStrides[i]!;
        const p = picks[i];
        at += (p ? p[0] + q * p[1] : q) * inStrides[i]!;
      }
      value.push(x.value[at] ?? null);
    }
  }
  return [withValue(x.type, shape, value)];
};

const gather: ShapeRule = (node, [data, indices]) => {
  if (!data?.shape || !indices?.shape) return [unknown(data?.type ?? FLOAT)];
  const axis = normAxis(intAttr(node, 'axis', 0), data.shape.length);
  const shape = [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)];
  const idx = numbers(indices);
  let value: Scalar[] | undefined;
  if (data.value && idx && data.shape.every((d): d is number => typeof d === 'number')) {
    const dims = data.shape;
    const outer = dims.slice(0, axis).reduce((p, d) => p * d, 1);
    const inner = dims.slice(axis + 1).reduce((p, d) => p * d, 1);
    const n = dims[axis]!;
    value = [];
    for (let o = 0; o < outer; o++) {
      for (const i of idx) {
        const row = i < 0 ? i + n : i;
        for (let j = 0; j < inner; j++) value.push(data.value[(o * n + row) * inner + j] ?? null);
      }
    }
  }
  return [withValue(data.type, shape, value)];
};

const gatherElements: ShapeRule = (_node, [data, indices]) => [{ type: data?.type ?? FLOAT, shape: indices?.shape ?? null }];

const split: ShapeRule = (node, [x, splitIn]) => {
  const k = node.outputs.length;
  if (!x?.shape) return node.outputs.map(() => unknown(x?.type ?? FLOAT));
  const axis = normAxis(intAttr(node, 'axis', 0), x.shape.length);
  const dim = x.shape[axis];
  let sizes = intsAttr(node, 'split') ?? (splitIn ? numbers(splitIn) : undefined);
  if (!sizes && typeof dim === 'number') {
    // Equal parts; with num_outputs (opset 18) the last may be smaller.
    const part = Math.ceil(dim / k);
    sizes = Array.from({ length: k }, (_, i) => Math.max(0, Math.min(part, dim - i * part)));
  }
  return node.outputs.map((_, i) => ({ type: x.type, shape: x.shape!.map((d, j) => (j === axis ? (sizes?.[i] ?? null) : d)) }));
};

const expand: ShapeRule = (_node, [x, shapeIn]) => {
  if (!x?.shape || !shapeIn?.value) return [unknown(x?.type ?? FLOAT)];
  const shape = broadcastShapes([x.shape, shapeIn.value])!;
  const dims = x.shape.every((d): d is number => typeof d === 'number') ? x.shape : undefined;
  const out = shape.every((d): d is number => typeof d === 'number') ? shape : undefined;
  const n = elementCount(shape);
  const value = x.value && dims && out && n !== null && n <= MAX_VALUE_ELEMENTS ? broadcastMap([{ shape: dims, value: x.value }], out, ([v]) => v ?? null) : undefined;
  return [withValue(x.type, shape, value)];
};

const shapeOf: ShapeRule = (node, [x]) => {
  if (!x?.shape) return [unknown(INT64)];
  const rank = x.shape.length;
  const start = Math.min(Math.max(normAxis(intAttr(node, 'start', 0), rank), 0), rank);
  const end = Math.min(Math.max(normAxis(intAttr(node, 'end', rank), rank), 0), rank);
  const dims = x.shape.slice(start, Math.max(start, end));
  return [{ type: INT64, shape: [dims.length], value: dims }];
};

const size: ShapeRule = (_node, [x]) => {
  const n = elementCount(x?.shape ?? null);
  return [n === null ? { type: INT64, shape: [] } : { type: INT64, shape: [], value: [n] }];
};

const constantOfShape: ShapeRule = (node, [shapeIn]) => {
  const fill = tensorAttr(node, 'value');
  const type = fill ? (tensorDataType(fill)) : FLOAT;
  const v = fill ? (tensorValues(fill)?.[0] ?? 0) : 0;
  if (!shapeIn?.value) return [unknown(type)];
  const shape = shapeIn.value;
  const n = elementCount(shape);
  return [withValue(type, shape, n !== null && n <= MAX_VALUE_ELEMENTS ? new Array<Scalar>(n).fill(v) : undefined)];
};

const range: ShapeRule = (_node, [start, limit, delta]) => {
  const [s, l, d] = [numbers(start)?.[0], numbers(limit)?.[0], numbers(delta)?.[0]];
  const type = start?.type ?? INT64;
  if (s === undefined || l === undefined || d === undefined || d === 0) return [{ type, shape: [null] }];
  const n = Math.max(Math.ceil((l - s) / d), 0);
  return [withValue(type, [n], Array.from({ length: n }, (_, i) => toType(s + i * d, type)))];
};

const cast: ShapeRule = (node, [x, like]) => {
  const to = node.op === 'CastLike' ? (like?.type ?? FLOAT) : intAttr(node, 'to', FLOAT);
  if (!x) return [unknown(to)];
  // A cast keeps the batch size; a float-to-int cast truncates as onnxruntime does.
  const value = x.value?.map((v) => (typeof v === 'number' ? toType(v, to) : v));
  return [x.shape ? withValue(to, x.shape, value) : unknown(to)];
};

const constant: ShapeRule = (node) => {
  const t = tensorAttr(node, 'value');
  if (t) {
    const value = tensorValues(t);
    return [value ? { type: tensorDataType(t), shape: [...t.dims], value } : { type: tensorDataType(t), shape: [...t.dims] }];
  }
  const a = node.attrs ?? {};
  if ('value_int' in a && typeof a.value_int === 'number') return [{ type: INT64, shape: [], value: [a.value_int] }];
  if ('value_ints' in a && Array.isArray(a.value_ints)) return [{ type: INT64, shape: [a.value_ints.length], value: a.value_ints }];
  const f = a.value_float;
  if (f && typeof f === 'object' && 'float' in f) return [{ type: FLOAT, shape: [], value: [Math.fround(f.float)] }];
  const fs = a.value_floats;
  if (fs && typeof fs === 'object' && 'floats' in fs) return [{ type: FLOAT, shape: [fs.floats.length], value: fs.floats.map(Math.fround) }];
  return [unknown(FLOAT)];
};

const pad: ShapeRule = (node, [x, padsIn, , axesIn]) => {
  const pads = intsAttr(node, 'pads') ?? numbers(padsIn);
  if (!x?.shape || !pads) return [unknown(x?.type ?? FLOAT)];
  const rank = x.shape.length;
  const axes = axesIn ? numbers(axesIn)?.map((a) => normAxis(a, rank)) : x.shape.map((_, i) => i);
  if (!axes) return [unknown(x.type)];
  const shape = [...x.shape];
  axes.forEach((a, k) => {
    const d = shape[a]!;
    const more = pads[k]! + pads[axes.length + k]!;
    shape[a] = typeof d === 'number' ? d + more : more === 0 ? d : null;
  });
  return [{ type: x.type, shape }];
};

const tile: ShapeRule = (_node, [x, repeatsIn]) => {
  const repeats = numbers(repeatsIn);
  if (!x?.shape || !repeats) return [unknown(x?.type ?? FLOAT)];
  return [{ type: x.type, shape: x.shape.map((d, i) => (repeats[i] === 1 ? d : typeof d === 'number' ? d * repeats[i]! : null)) }];
};

const dropout: ShapeRule = (node, [x]) => node.outputs.map((_, i) => (x ? { type: i === 0 ? x.type : BOOL, shape: x.shape } : undefined));

export const TENSOR_RULES: Readonly<Record<string, ShapeRule>> = {
  Reshape: reshape,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Concat: concat,
  Slice: slice,
  Gather: gather,
  GatherElements: gatherElements,
  Split: split,
  Expand: expand,
  Shape: shapeOf,
  Size: size,
  ConstantOfShape: constantOfShape,
  Range: range,
  Cast: cast,
  CastLike: cast,
  Constant: constant,
  Pad: pad,
  Tile: tile,
  Dropout: dropout,
};
