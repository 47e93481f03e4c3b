import * as tf from '@tensorflow/tfjs-core';
import { need } from '../attrs.js';
import type { TfOpFn } from '../types.js';

/**
 * A comparison or logical op, cut off from tf's autodiff: tf has no gradient for Greater, Less,
 * Equal or the logical ops and refuses a tape through them (a mask computed from activations, as
 * in Where(x > 0, …)); their true gradient is zero, which this custom gradient says.
 */
function noGradient(f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.customGrad((...args: unknown[]) => {
    const [x, y] = args as [tf.Tensor, tf.Tensor];
    return { value: f(x, y), gradFunc: () => [tf.zerosLike(x), tf.zerosLike(y)] };
  })(a, b);
}

const compare = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): TfOpFn => (node, inputs) => {
  const a = need(node, inputs, 0);
  const b = need(node, inputs, 1);
  return [noGradient(f, a, b.dtype === a.dtype ? b : tf.cast(b, a.dtype))];
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
  Not: (node, inputs) => {
    const a = need(node, inputs, 0);
    return [noGradient((x) => tf.logicalNot(x), a, a)];
  },
  And: compare(tf.logicalAnd),
  Or: compare(tf.logicalOr),
  Xor: compare(tf.logicalXor),
  Where: where,
};
