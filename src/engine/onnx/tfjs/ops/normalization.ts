import * as tf from '@tensorflow/tfjs-core';
import { floatAttr, intAttr, need, normAxis, unsupportedForm } from '../attrs.js';
import type { TfOpFn } from '../types.js';

/**
 * Inference-mode BatchNormalization over axis 1: (x − mean) · scale / √(var + ε) + B on the
 * running statistics. Training mode (batch statistics) is the training compiler's job, not this one's.
 */
const batchNorm: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  if (intAttr(node, 'training_mode', 0) === 1 || node.outputs.slice(1).some((o) => o !== '')) {
    throw unsupportedForm(node, 'training-mode BatchNormalization (batch statistics, running-average outputs)', `training_mode ${intAttr(node, 'training_mode', 0)}, outputs ${JSON.stringify(node.outputs)}`);
  }
  const eps = floatAttr(node, 'epsilon', 1e-5);
  // Per-channel vectors [C] as [C, 1, …] so they broadcast over the spatial axes.
  const channel = [-1, ...Array<number>(Math.max(x.rank - 2, 0)).fill(1)];
  const at = (i: number): tf.Tensor => tf.reshape(need(node, inputs, i), channel);
  const factor = tf.mul(at(1), tf.rsqrt(tf.add(at(4), eps)));
  return [tf.add(tf.mul(tf.sub(x, at(3)), factor), at(2))];
};

/** LayerNormalization over axes [axis, rank): Y, and optionally Mean and InvStdDev (kept dims). */
const layerNorm: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const axis = normAxis(node, intAttr(node, 'axis', -1), x.rank);
  const axes = x.shape.map((_, i) => i).slice(axis);
  const mean = tf.mean(x, axes, true);
  const centered = tf.sub(x, mean);
  const inv = tf.rsqrt(tf.add(tf.mean(tf.square(centered), axes, true), floatAttr(node, 'epsilon', 1e-5)));
  let y = tf.mul(tf.mul(centered, inv), need(node, inputs, 1));
  if (inputs[2]) y = tf.add(y, inputs[2]);
  return [y, node.outputs[1] ? mean : undefined, node.outputs[2] ? inv : undefined];
};

export const normalizationOps: Record<string, TfOpFn> = { BatchNormalization: batchNorm, LayerNormalization: layerNorm };
