import * as tf from '@tensorflow/tfjs-core';
import { describeNode, intAttr, need, normAxis, stringAttr, unsupportedForm } from '../attrs.js';
import { GraftError } from '../../../../errors.js';
import type { TfOpFn } from '../types.js';

/**
 * Softmax/LogSoftmax along `axis`. Opset ≥ 13: that one axis (default −1). Before 13 the input was
 * flattened to 2-D at `axis` (default 1) and normalised over everything after it.
 */
const along = (f: (x: tf.Tensor) => tf.Tensor): TfOpFn => (node, inputs, ctx) => {
  const x = need(node, inputs, 0);
  if (ctx.opset < 13) {
    const axis = normAxis(node, intAttr(node, 'axis', 1), x.rank);
    const rows = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
    return [tf.reshape(f(tf.reshape(x, [rows, -1])), x.shape)];
  }
  const axis = normAxis(node, intAttr(node, 'axis', -1), x.rank);
  if (axis === x.rank - 1) return [f(x)];
  // tf's softmax works on the last axis: swap `axis` there and back.
  const perm = x.shape.map((_, i) => (i === axis ? x.rank - 1 : i === x.rank - 1 ? axis : i));
  return [tf.transpose(f(tf.transpose(x, perm)), perm)];
};

/**
 * SoftmaxCrossEntropyLoss(scores [N, C], labels [N], weights?) with reduction mean/sum/none and
 * ignore_index: loss_i = −w[y_i] · log softmax(scores_i)[y_i]; mean divides by Σ w[y_i].
 */
const softmaxCrossEntropy: TfOpFn = (node, inputs) => {
  const scores = need(node, inputs, 0);
  const labels = need(node, inputs, 1);
  if (scores.rank !== 2) throw unsupportedForm(node, 'scores of rank other than 2', `shape [${scores.shape.join(', ')}]`);
  const reduction = stringAttr(node, 'reduction', 'mean');
  if (!['mean', 'sum', 'none'].includes(reduction)) {
    throw new GraftError('MODEL_CORRUPT', `${describeNode(node)}: reduction ${JSON.stringify(reduction)} is not one of mean, sum, none. Re-export the model.`);
  }
  const classes = scores.shape[1]!;
  const logp = tf.logSoftmax(scores);
  const ignore = node.attrs?.ignore_index;
  const ints = labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32');
  const kept = typeof ignore === 'number' ? tf.notEqual(ints, ignore) : undefined;
  const safe = kept ? tf.where(kept, ints, tf.zerosLike(ints)) : ints;
  let w: tf.Tensor = inputs[2] ? tf.gather(inputs[2], safe) : tf.cast(tf.onesLike(safe), 'float32');
  if (kept) w = tf.mul(w, tf.cast(kept, 'float32'));
  const picked = tf.sum(tf.mul(logp, tf.oneHot(safe, classes)), 1);
  const losses = tf.neg(tf.mul(picked, w));
  const loss = reduction === 'none' ? losses : reduction === 'sum' ? tf.sum(losses) : tf.div(tf.sum(losses), tf.sum(w));
  return [loss, node.outputs[1] ? logp : undefined];
};

export const softmaxOps: Record<string, TfOpFn> = {
  Softmax: along((x) => tf.softmax(x)),
  LogSoftmax: along((x) => tf.logSoftmax(x)),
  SoftmaxCrossEntropyLoss: softmaxCrossEntropy,
};
