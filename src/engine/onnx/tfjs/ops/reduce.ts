import * as tf from '@tensorflow/tfjs-core';
import { intAttr, intsAttr, need, normAxis } from '../attrs.js';
import { intsOf } from '../values.js';
import type { TfOpFn } from '../types.js';

/**
 * Reductions. The axes come from input 1 (ReduceSum from opset 13, the others from 18) or the
 * `axes` attribute (earlier opsets): the node says which by what it carries. No axes reduces over
 * all of them, unless noop_with_empty_axes = 1.
 */
const reduce = (f: (x: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor): TfOpFn => (node, inputs) => {
  const x = need(node, inputs, 0);
  const given = inputs[1] ? intsOf(inputs[1]) : intsAttr(node, 'axes') ?? [];
  if (given.length === 0 && intAttr(node, 'noop_with_empty_axes', 0) === 1) return [x.clone()];
  const axes = given.length ? given.map((a) => normAxis(node, a, x.rank)) : x.shape.map((_, i) => i);
  return [f(x, axes, intAttr(node, 'keepdims', 1) === 1)];
};

export const reduceOps: Record<string, TfOpFn> = {
  ReduceMean: reduce((x, a, k) => tf.mean(x, a, k)),
  ReduceSum: reduce((x, a, k) => tf.sum(x, a, k)),
  ReduceMax: reduce((x, a, k) => tf.max(x, a, k)),
  ReduceMin: reduce((x, a, k) => tf.min(x, a, k)),
  ReduceProd: reduce((x, a, k) => tf.prod(x, a, k)),
  ReduceSumSquare: reduce((x, a, k) => tf.sum(tf.square(x), a, k)),
};
