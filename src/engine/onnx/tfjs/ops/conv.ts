import * as tf from '@tensorflow/tfjs-core';
import { intAttr, need, unsupportedForm } from '../attrs.js';
import type { TfOpFn } from '../types.js';
import { fromNhwc, padSpatial, toNhwc, windowOf } from './window.js';

/**
 * A kernel [kh, kw, …] spread by its dilation: zeros between taps. tf's Conv2D and depthwise
 * gradients refuse dilations > 1, so dilated convolutions run undilated on the spread kernel
 * (pad + reshape + slice, all differentiable).
 */
function dilate(k: tf.Tensor4D, d: [number, number]): tf.Tensor4D {
  let out: tf.Tensor = k;
  for (const axis of [0, 1]) {
    const rate = d[axis]!;
    if (rate === 1) continue;
    const shape = out.shape;
    const taps = shape[axis]!;
    // A new unit axis after `axis`, padded to `rate`, then merged: each tap followed by rate − 1 zeros.
    const spread = Array.from({ length: shape.length + 1 }, (_, i): [number, number] => (i === axis + 1 ? [0, rate - 1] : [0, 0]));
    const spaced = tf.pad(tf.expandDims(out, axis + 1), spread);
    const flat = tf.reshape(spaced, shape.map((s, i) => (i === axis ? taps * rate : s)));
    out = tf.slice(flat, shape.map(() => 0), shape.map((s, i) => (i === axis ? (taps - 1) * rate + 1 : s)));
  }
  return out as tf.Tensor4D;
}

/**
 * Conv (NCHW, weights [Cout, Cin/groups, kh, kw], 1-D or 2-D) on TF.js's channels-last kernels:
 * transposed in and out; explicit padding (asymmetric included) then a 'valid' convolution;
 * groups = Cin with one input channel per group runs as a depthwise convolution, other groups as
 * one convolution per group, concatenated.
 */
const conv: TfOpFn = (node, inputs, ctx) => {
  const x = need(node, inputs, 0);
  if (x.rank !== 3 && x.rank !== 4) throw unsupportedForm(node, `Conv on rank-${x.rank} input (1-D and 2-D are)`, `shape [${x.shape.join(', ')}]`);
  return [fromNhwc(convNhwc(node, toNhwc(x), x.shape.slice(2), inputs, ctx), x.rank)];
};

/** Conv on a channels-last input (the runner's variant when the input is already held so). */
export const convChannelsLast: TfOpFn = (node, inputs, ctx) => {
  const x = need(node, inputs, 0) as tf.Tensor4D;
  return [convNhwc(node, x, [x.shape[1], x.shape[2]], inputs, ctx)];
};

/** The convolution itself: `xs` NHWC, `spatial` the input's spatial sizes as the node sees them (1 or 2). */
function convNhwc(node: Parameters<TfOpFn>[0], xs: tf.Tensor4D, spatial: number[], inputs: Parameters<TfOpFn>[1], ctx: Parameters<TfOpFn>[2]): tf.Tensor4D {
  const w = need(node, inputs, 1);
  const win = windowOf(node, spatial, w.shape.slice(2));
  const groups = intAttr(node, 'group', 1);
  const w4 = w.rank === 3 ? tf.expandDims(w, 2) : w;
  const [cout, perGroup] = w4.shape as [number, number];
  const cin = xs.shape[3];
  const padded = padSpatial(xs, win.pads);
  const depthwise = groups === cin && perGroup === 1;
  // The weight in tf's layout, kept between inference runs when the caller gave a cache.
  const prepare = (make: () => tf.Tensor4D): tf.Tensor4D => (ctx.weights ? (ctx.weights.get(w, `conv ${depthwise ? 'depthwise' : 'dense'} ${win.dilations.join('x')}`, make) as tf.Tensor4D) : make());
  let y: tf.Tensor4D;
  if (depthwise) {
    // Depthwise: output channel c·m + j reads input channel c, as tf's [kh, kw, Cin, m] filter.
    const filter = prepare(() => dilate(tf.transpose(tf.reshape(w4, [cin, cout / cin, w4.shape[2]!, w4.shape[3]!]), [2, 3, 0, 1]) as tf.Tensor4D, win.dilations));
    y = tf.depthwiseConv2d(padded, filter, win.strides, 'valid');
  } else {
    const filter = prepare(() => dilate(tf.transpose(w4, [2, 3, 1, 0]) as tf.Tensor4D, win.dilations));
    if (groups === 1) {
      y = tf.conv2d(padded, filter, win.strides, 'valid');
    } else {
      const xg = tf.split(padded, groups, 3) as tf.Tensor4D[];
      const fg = tf.split(filter, groups, 3) as tf.Tensor4D[];
      y = tf.concat(xg.map((part, g) => tf.conv2d(part, fg[g]!, win.strides, 'valid')), 3);
    }
  }
  const b = inputs[2];
  return b ? tf.add(y, b) : y;
}

export const convOps: Record<string, TfOpFn> = { Conv: conv };
