import * as tf from '@tensorflow/tfjs-core';
import { intAttr, intsAttr, need, unsupportedForm } from '../attrs.js';
import type { TfOpFn } from '../types.js';
import { ceilExtra, fromNhwc, padSpatial, toNhwc, windowOf, type Window } from './window.js';

type Node = Parameters<TfOpFn>[0];

/** `spatial`: the input's spatial sizes as the node sees them (1 or 2); `xs` is NHWC. */
function poolWindow(node: Node, spatial: number[]): { win: Window; extra: [number, number]; size: [number, number] } {
  const kernel = intsAttr(node, 'kernel_shape') ?? [];
  const win = windowOf(node, spatial, kernel);
  if (win.dilations.some((d) => d !== 1)) throw unsupportedForm(node, 'dilated pooling', JSON.stringify(win.dilations));
  const size = (spatial.length === 1 ? [1, spatial[0]!] : spatial) as [number, number];
  return { win, extra: ceilExtra(node, win, size), size };
}

/** A pool written for channels-last input, as the op on NCHW (1-D or 2-D) and as the runner's channels-last variant. */
const both = (core: (node: Node, xs: tf.Tensor4D, spatial: number[]) => tf.Tensor4D): { nchw: TfOpFn; channelsLast: TfOpFn } => ({
  nchw: (node, inputs) => {
    const x = need(node, inputs, 0);
    if (x.rank !== 3 && x.rank !== 4) throw unsupportedForm(node, `pooling on rank-${x.rank} input (1-D and 2-D are)`, `shape [${x.shape.join(', ')}]`);
    return [fromNhwc(core(node, toNhwc(x), x.shape.slice(2)), x.rank)];
  },
  channelsLast: (node, inputs) => {
    const xs = need(node, inputs, 0) as tf.Tensor4D;
    return [core(node, xs, [xs.shape[1], xs.shape[2]])];
  },
});

/** MaxPool: padding is −∞, so padded cells never win. */
const maxPool = both((node, xs, spatial) => {
  if (node.outputs[1]) throw unsupportedForm(node, "MaxPool's Indices output", JSON.stringify(node.outputs));
  const { win, extra } = poolWindow(node, spatial);
  return tf.maxPool(padSpatial(xs, win.pads, extra, -Infinity), win.kernel, win.strides, 'valid');
});

/**
 * AveragePool: the window mean over zero padding, divided by the share of the window that counts —
 * cells of the input (count_include_pad 0) or of the input and its pads (1); cells added for
 * ceil_mode never count. The share is a constant mask, so the gradient flows through the mean only.
 */
const averagePool = both((node, xs, spatial) => {
  const { win, extra, size } = poolWindow(node, spatial);
  const y = tf.avgPool(padSpatial(xs, win.pads, extra), win.kernel, win.strides, 'valid');
  const [[t, b], [l, r]] = win.pads;
  if (t + b + l + r + extra[0] + extra[1] === 0) return y;
  const share = tf.tidy(() => {
    const includePad = intAttr(node, 'count_include_pad', 0) === 1;
    const ones = tf.ones(includePad ? [1, size[0] + t + b, size[1] + l + r, 1] : [1, size[0], size[1], 1]) as tf.Tensor4D;
    const mask = includePad ? padSpatial(ones, [[0, 0], [0, 0]], extra) : padSpatial(ones, win.pads, extra);
    return tf.avgPool(mask, win.kernel, win.strides, 'valid');
  });
  return tf.div(y, share);
});

const spatialAxes = (x: tf.Tensor): number[] => x.shape.map((_, i) => i).slice(2);

/** The pools' channels-last variants, for the runner's layout choice (layout.ts). */
export const poolChannelsLast: Record<string, TfOpFn> = { MaxPool: maxPool.channelsLast, AveragePool: averagePool.channelsLast };

export const poolOps: Record<string, TfOpFn> = {
  MaxPool: maxPool.nchw,
  AveragePool: averagePool.nchw,
  GlobalAveragePool: (node, inputs) => {
    const x = need(node, inputs, 0);
    return [tf.mean(x, spatialAxes(x), true)];
  },
  GlobalMaxPool: (node, inputs) => {
    const x = need(node, inputs, 0);
    return [tf.max(x, spatialAxes(x), true)];
  },
};
