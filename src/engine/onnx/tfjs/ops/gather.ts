import * as tf from '@tensorflow/tfjs-core';
import { intAttr, need, normAxis } from '../attrs.js';
import type { TfOpFn } from '../types.js';

/**
 * tf.gather on float data, differentiable on every backend. tf's own gradient of gather scatters
 * with UnsortedSegmentSum, a kernel the wasm backend lacks; there the gradient is one matrix
 * product with the one-hot of the indices instead: dx[n] = Σ_k [idx_k = n] dy[k].
 */
export function gatherDiff(x: tf.Tensor, indices: tf.Tensor, axis: number): tf.Tensor {
  if (x.dtype !== 'float32' || tf.getKernel('UnsortedSegmentSum', tf.getBackend())) return tf.gather(x, indices, axis);
  const f = tf.customGrad((...args: unknown[]) => {
    const xv = args[0] as tf.Tensor;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    save([indices]);
    const value = tf.gather(xv, indices, axis);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor => {
      const idx = tf.reshape(saved[0]!, [-1]);
      const before = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
      const after = x.shape.slice(axis + 1).reduce((p, d) => p * d, 1);
      const k = idx.shape[0]!;
      const n = x.shape[axis]!;
      // dy as [K, before·after] rows, one per gathered index; one product sums rows into their slot.
      const rows = tf.reshape(tf.transpose(tf.reshape(dy, [before, k, after]), [1, 0, 2]), [k, before * after]);
      const summed = tf.matMul(tf.oneHot(idx, n), rows, true, false);
      return tf.reshape(tf.transpose(tf.reshape(summed, [n, before, after]), [1, 0, 2]), x.shape);
    };
    return { value, gradFunc };
  });
  return f(x);
}

/** Indices in [−n, n) made non-negative, as int32. */
function positive(indices: tf.Tensor, n: number): tf.Tensor {
  const ints = indices.dtype === 'int32' ? indices : tf.cast(indices, 'int32');
  return tf.where(tf.less(ints, tf.scalar(0, 'int32')), tf.add(ints, tf.scalar(n, 'int32')), ints);
}

/** Gather along `axis`; a scalar index drops that axis. */
const gather: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const axis = normAxis(node, intAttr(node, 'axis', 0), x.rank);
  const raw = need(node, inputs, 1);
  const idx = positive(raw.rank === 0 ? tf.reshape(raw, [1]) : raw, x.shape[axis]!);
  const y = gatherDiff(x, idx, axis);
  return [raw.rank === 0 ? tf.squeeze(y, [axis]) : y];
};

/**
 * GatherElements: out[i…] = x[i… with position `axis` replaced by idx[i…]]. Done as one gather on
 * the flattened data at the computed flat offsets (differentiable through gatherDiff).
 */
const gatherElements: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const axis = normAxis(node, intAttr(node, 'axis', 0), x.rank);
  const raw = need(node, inputs, 1);
  const idx = positive(raw, x.shape[axis]!);
  const strides = x.shape.map((_, i) => x.shape.slice(i + 1).reduce((p, d) => p * d, 1));
  const int = (v: number): tf.Scalar => tf.scalar(v, 'int32');
  let flat: tf.Tensor = tf.mul(idx, int(strides[axis]!));
  idx.shape.forEach((size, i) => {
    if (i === axis) return;
    const coord = tf.reshape(tf.mul(tf.range(0, size, 1, 'int32'), int(strides[i]!)), idx.shape.map((_, j) => (j === i ? size : 1)));
    flat = tf.add(flat, coord);
  });
  return [tf.reshape(gatherDiff(tf.reshape(x, [-1]), tf.reshape(flat, [-1]), 0), idx.shape)];
};

export const gatherOps: Record<string, TfOpFn> = { Gather: gather, GatherElements: gatherElements };
