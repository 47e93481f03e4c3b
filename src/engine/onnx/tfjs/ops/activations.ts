import * as tf from '@tensorflow/tfjs-core';
import { floatAttr, need, stringAttr } from '../attrs.js';
import { scalarOf } from '../values.js';
import type { TfOpFn } from '../types.js';

const unary = (f: (x: tf.Tensor) => tf.Tensor): TfOpFn => (node, inputs) => [f(need(node, inputs, 0))];

/** Clip: bounds from inputs 1 and 2 (opset ≥ 11) or the min/max attributes (older); absent = unbounded. */
const clip: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const lo = inputs[1] ? scalarOf(inputs[1]) : floatAttr(node, 'min', -Infinity);
  const hi = inputs[2] ? scalarOf(inputs[2]) : floatAttr(node, 'max', Infinity);
  return [tf.clipByValue(x, lo, hi)];
};

/** max(0, min(1, αx + β)). */
function hardSigmoid(x: tf.Tensor, alpha: number, beta: number): tf.Tensor {
  return tf.clipByValue(tf.add(tf.mul(x, alpha), beta), 0, 1);
}

/** PRelu with ONNX's (unidirectional) broadcasting of the slope: relu(x) − slope · relu(−x). */
const prelu: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  return [tf.sub(tf.relu(x), tf.mul(need(node, inputs, 1), tf.relu(tf.neg(x))))];
};

/** Gelu (opset 20): exact 0.5x(1 + erf(x/√2)), or the tanh approximation. */
const gelu: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const inner = stringAttr(node, 'approximate', 'none') === 'tanh'
    ? tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))
    : tf.erf(tf.mul(x, Math.SQRT1_2));
  return [tf.mul(tf.mul(x, 0.5), tf.add(inner, 1))];
};

export const activationOps: Record<string, TfOpFn> = {
  Relu: unary(tf.relu),
  LeakyRelu: (node, inputs) => [tf.leakyRelu(need(node, inputs, 0), floatAttr(node, 'alpha', 0.01))],
  PRelu: prelu,
  Sigmoid: unary(tf.sigmoid),
  Tanh: unary(tf.tanh),
  Erf: unary(tf.erf),
  Softplus: unary(tf.softplus),
  Elu: (node, inputs) => {
    const alpha = floatAttr(node, 'alpha', 1);
    const y = tf.elu(need(node, inputs, 0));
    // tf.elu has α = 1; other α scale the negative part.
    return [alpha === 1 ? y : tf.where(tf.greater(y, 0), y, tf.mul(y, alpha))];
  },
  Clip: clip,
  HardSigmoid: (node, inputs) => [hardSigmoid(need(node, inputs, 0), floatAttr(node, 'alpha', 0.2), floatAttr(node, 'beta', 0.5))],
  HardSwish: (node, inputs) => {
    const x = need(node, inputs, 0);
    return [tf.mul(x, hardSigmoid(x, 1 / 6, 0.5))];
  },
  Gelu: gelu,
};
