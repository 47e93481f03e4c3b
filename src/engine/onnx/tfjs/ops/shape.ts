import * as tf from '@tensorflow/tfjs-core';
import { GraftError } from '../../../../errors.js';
import { describeNode, intAttr, intsAttr, need, normAxis } from '../attrs.js';
import { INT32_MAX, intsOf } from '../values.js';
import type { TfOpFn } from '../types.js';

/** Reshape: 0 copies the input's size at that position (unless allowzero = 1), −1 is inferred. */
const reshape: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const allowZero = intAttr(node, 'allowzero', 0) === 1;
  const shape = intsOf(need(node, inputs, 1)).map((d, i) => (d === 0 && !allowZero ? x.shape[i] ?? 0 : d));
  if (shape.filter((d) => d === -1).length > 1 || shape.some((d) => d < -1)) {
    throw new GraftError('MODEL_CORRUPT', `${describeNode(node)}: target shape [${shape.join(', ')}] is not a shape (one −1 at most, no other negatives). Re-export the model.`);
  }
  return [tf.reshape(x, shape)];
};

/** Flatten to 2-D at `axis` (default 1; negative counts from the end). */
const flatten: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const raw = intAttr(node, 'axis', 1);
  const axis = raw === x.rank ? raw : normAxis(node, raw, x.rank);
  const rows = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
  return [tf.reshape(x, [rows, x.size / Math.max(rows, 1)])];
};

/** The axes of Squeeze/Unsqueeze: input 1 from opset 13, the `axes` attribute before. */
const axesOf = (node: Parameters<TfOpFn>[0], inputs: Parameters<TfOpFn>[1]): number[] | undefined => (inputs[1] ? intsOf(inputs[1]) : intsAttr(node, 'axes'));

const squeeze: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const given = axesOf(node, inputs);
  const axes = given?.length ? given.map((a) => normAxis(node, a, x.rank)) : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  return [tf.reshape(x, x.shape.filter((_, i) => !axes.includes(i)))];
};

const unsqueeze: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const given = axesOf(node, inputs) ?? [];
  const rank = x.rank + given.length;
  const axes = given.map((a) => normAxis(node, a, rank));
  const rest = [...x.shape];
  return [tf.reshape(x, Array.from({ length: rank }, (_, i) => (axes.includes(i) ? 1 : rest.shift()!)))];
};

const transpose: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  return [tf.transpose(x, intsAttr(node, 'perm') ?? x.shape.map((_, i) => x.rank - 1 - i))];
};

const concat: TfOpFn = (node, inputs) => {
  const xs = inputs.filter((t): t is tf.Tensor => t !== undefined);
  const first = need(node, inputs, 0);
  return [xs.length === 1 ? first.clone() : tf.concat(xs, normAxis(node, intAttr(node, 'axis', 0), first.rank))];
};

/** Split: sizes from input 1 (opset ≥ 13) or the `split` attribute; else equal parts (num_outputs or the output count). */
const split: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const axis = normAxis(node, intAttr(node, 'axis', 0), x.rank);
  const sizes = inputs[1] ? intsOf(inputs[1]) : intsAttr(node, 'split');
  if (sizes) return tf.split(x, sizes, axis);
  const parts = intAttr(node, 'num_outputs', node.outputs.length);
  const dim = x.shape[axis]!;
  const each = Math.ceil(dim / parts);
  // Opset 18: an uneven split makes the last part smaller.
  return tf.split(x, Array.from({ length: parts }, (_, i) => Math.max(Math.min(each, dim - i * each), 0)), axis);
};

/** Expand: two-way broadcasting of the input against the given shape. */
const expand: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const target = tf.broadcast_util.assertAndGetBroadcastShape(x.shape, intsOf(need(node, inputs, 1)));
  const same = target.length === x.rank && target.every((d, i) => d === x.shape[i]);
  return [same ? x.clone() : tf.broadcastTo(x, target)];
};

/** Shape, with opset 15's start/end slice. */
const shapeOp: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const clampTo = (v: number): number => Math.min(Math.max(v < 0 ? v + x.rank : v, 0), x.rank);
  const start = clampTo(intAttr(node, 'start', 0));
  const end = clampTo(Math.min(intAttr(node, 'end', INT32_MAX), INT32_MAX));
  return [tf.tensor1d(x.shape.slice(start, end), 'int32')];
};

export const shapeOps: Record<string, TfOpFn> = {
  Reshape: reshape,
  Flatten: flatten,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Expand: expand,
  Shape: shapeOp,
  Size: (node, inputs) => [tf.scalar(need(node, inputs, 0).size, 'int32')],
  Tile: (node, inputs) => [tf.tile(need(node, inputs, 0), intsOf(need(node, inputs, 1)))],
};
