import * as tf from '@tensorflow/tfjs-core';
import { need } from '../attrs.js';
import type { TfOpFn } from '../types.js';

const compare = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): TfOpFn => (node, inputs) => {
  const a = need(node, inputs, 0);
  const b = need(node, inputs, 1);
  return [f(a, b.dtype === a.dtype ? b : tf.cast(b, a.dtype))];
};

/** Where(cond, x, y): tf.where broadcasts all three, as ONNX does. */
const where: TfOpFn = (node, inputs) => {
  const c = need(node, inputs, 0);
  return [tf.where(c.dtype === 'bool' ? c : tf.cast(c, 'bool'), need(node, inputs, 1), need(node, inputs, 2))];
};

export const logicOps: Record<string, TfOpFn> = {
  Equal: compare(tf.equal),
  Less: compare(tf.less),
  Greater: compare(tf.greater),
  LessOrEqual: compare(tf.lessEqual),
  GreaterOrEqual: compare(tf.greaterEqual),
  Not: (node, inputs) => [tf.logicalNot(need(node, inputs, 0))],
  And: compare(tf.logicalAnd),
  Or: compare(tf.logicalOr),
  Xor: compare(tf.logicalXor),
  Where: where,
};
