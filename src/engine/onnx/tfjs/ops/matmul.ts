import * as tf from '@tensorflow/tfjs-core';
import { floatAttr, intAttr, need } from '../attrs.js';
import type { TfOpFn } from '../types.js';

/** Gemm: α · op(A) · op(B) + β · C, op = transpose when transA/transB. */
const gemm: TfOpFn = (node, inputs) => {
  const alpha = floatAttr(node, 'alpha', 1);
  const beta = floatAttr(node, 'beta', 1);
  let y = tf.matMul(need(node, inputs, 0), need(node, inputs, 1), intAttr(node, 'transA', 0) === 1, intAttr(node, 'transB', 0) === 1);
  if (alpha !== 1) y = tf.mul(y, alpha);
  const c = inputs[2];
  if (c && beta !== 0) y = tf.add(y, beta === 1 ? c : tf.mul(c, beta));
  return [y];
};

/**
 * MatMul with numpy semantics: a rank-1 operand gains a unit axis that is dropped afterwards, and
 * batch axes broadcast. The batch axes are broadcast explicitly (tf.broadcastTo's gradient sums
 * them back) so that tf's matMul and its gradient only ever see equal batch shapes.
 */
const matmul: TfOpFn = (node, inputs) => {
  let a = need(node, inputs, 0);
  let b = need(node, inputs, 1);
  const vecA = a.rank === 1;
  const vecB = b.rank === 1;
  if (vecA) a = tf.expandDims(a, 0);
  if (vecB) b = tf.expandDims(b, 1);
  if (a.rank > 2 || b.rank > 2) {
    const batch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const full = (t: tf.Tensor): tf.Tensor => {
      const want = [...batch, ...t.shape.slice(-2)];
      return want.length === t.rank && want.every((d, i) => d === t.shape[i]) ? t : tf.broadcastTo(t, want);
    };
    a = full(a);
    b = full(b);
  }
  let y = tf.matMul(a, b);
  if (vecA) y = tf.squeeze(y, [y.rank - 2]);
  if (vecB) y = tf.squeeze(y, [y.rank - 1]);
  return [y];
};

export const matmulOps: Record<string, TfOpFn> = { Gemm: gemm, MatMul: matmul };
