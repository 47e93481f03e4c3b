import * as tf from '@tensorflow/tfjs-core';
import { intAttr, intsAttr, need, unsupportedForm } from '../attrs.js';
import type { TfOpFn } from '../types.js';
import { ceilExtra, fromNhwc, padSpatial, toNhwc, windowOf, type Window } from './window.js';

function poolWindow(node: Parameters<TfOpFn>[0], x: tf.Tensor): { win: Window; extra: [number, number]; size: [number, number] } {
  if (x.rank !== 3 && x.rank !== 4) throw unsupportedForm(node, `pooling on rank-${x.rank} input (1-D and 2-D are)`, `shape [${x.shape.join(', ')}]`);
  const kernel = intsAttr(node, 'kernel_shape') ?? [];
  const win = windowOf(node, x.shape.slice(2), kernel);
  if (win.dilations.some((d) => d !== 1)) throw unsupportedForm(node, 'dilated pooling', JSON.stringify(win.dilations));
  const size = (x.rank === 3 ? [1, x.shape[2]!] : [x.shape[2]!, x.shape[3]!]) as [number, number];
  return { win, extra: ceilExtra(node, win, size), size };
}

/** MaxPool: padding is −∞, so padded cells never win. */
const maxPool: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  if (node.outputs[1]) throw unsupportedForm(node, "MaxPool's Indices output", JSON.stringify(node.outputs));
  const { win, extra } = poolWindow(node, x);
  const y = tf.maxPool(padSpatial(toNhwc(x), win.pads, extra, -Infinity), win.kernel, win.strides, 'valid');
  return [fromNhwc(y, x.rank)];
};

/**
 * AveragePool: the window mean over zero padding, divided by the share of the window that counts —
 * cells of the input (count_include_pad 0) or of the input and its pads (1); cells added for
 * ceil_mode never count. The share is a constant mask, so the gradient flows through the mean only.
 */
const averagePool: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const { win, extra, size } = poolWindow(node, x);
  const y = tf.avgPool(padSpatial(toNhwc(x), win.pads, extra), win.kernel, win.strides, 'valid');
  const [[t, b], [l, r]] = win.pads;
  if (t + b + l + r + extra[0] + extra[1] === 0) return [fromNhwc(y, x.rank)];
  const share = tf.tidy(() => {
    const includePad = intAttr(node, 'count_include_pad', 0) === 1;
    const ones = tf.ones(includePad ? [1, size[0] + t + b, size[1] + l + r, 1] : [1, size[0], size[1], 1]) as tf.Tensor4D;
    const mask = includePad ? padSpatial(ones, [[0, 0], [0, 0]], extra) : padSpatial(ones, win.pads, extra);
    return tf.avgPool(mask, win.kernel, win.strides, 'valid');
  });
  return [fromNhwc(tf.div(y, share), x.rank)];
};

const spatialAxes = (x: tf.Tensor): number[] => x.shape.map((_, i) => i).slice(2);

export const poolOps: Record<string, TfOpFn> = {
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: (node, inputs) => {
    const x = need(node, inputs, 0);
    return [tf.mean(x, spatialAxes(x), true)];
  },
  GlobalMaxPool: (node, inputs) => {
    const x = need(node, inputs, 0);
    return [tf.max(x, spatialAxes(x), true)];
  },
};
