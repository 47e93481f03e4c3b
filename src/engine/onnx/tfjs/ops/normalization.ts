import * as tf from '@tensorflow/tfjs-core';
import { floatAttr, intAttr, need, normAxis } from '../attrs.js';
import type { TfOpFn } from '../types.js';

/**
 * BatchNormalization over axis 1. Inference: (x − mean) · scale / √(var + ε) + B on the running
 * statistics. Training mode (training_mode 1, or running-average outputs asked for; OnnxBlock
 * rewrites its nodes so while a trainable block trains): the batch's mean and biased variance
 * normalise, and outputs 1 and 2 are the running averages moved towards them by `momentum`
 * (ONNX's convention, Keras's too: running · m + batch · (1 − m)); the loss never reads them.
 */
const batchNorm: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const eps = floatAttr(node, 'epsilon', 1e-5);
  // Per-channel vectors [C] as [C, 1, …] so they broadcast over the spatial axes.
  const channel = [-1, ...Array<number>(Math.max(x.rank - 2, 0)).fill(1)];
  const at = (i: number): tf.Tensor => tf.reshape(need(node, inputs, i), channel);
  if (intAttr(node, 'training_mode', 0) !== 1 && !node.outputs.slice(1).some((o) => o !== '')) {
    const factor = tf.mul(at(1), tf.rsqrt(tf.add(at(4), eps)));
    return [tf.add(tf.mul(tf.sub(x, at(3)), factor), at(2))];
  }
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const { mean, variance } = tf.moments(x, axes, true);
  const y = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), at(1)), at(2));
  const m = floatAttr(node, 'momentum', 0.9);
  const moved = (running: tf.Tensor, batch: tf.Tensor): tf.Tensor => tf.add(tf.mul(running, m), tf.mul(tf.reshape(batch, [-1]), 1 - m));
  return [y, node.outputs[1] ? moved(need(node, inputs, 3), mean) : undefined, node.outputs[2] ? moved(need(node, inputs, 4), variance) : undefined];
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
