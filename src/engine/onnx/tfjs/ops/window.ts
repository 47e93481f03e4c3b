import * as tf from '@tensorflow/tfjs-core';
import { intAttr, intsAttr, stringAttr, unsupportedForm } from '../attrs.js';
import type { OnnxNode } from '../../model-proto.js';

/** The geometry of a 2-D sliding-window op (1-D ones are lifted to 2-D with a unit height). */
export interface Window {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  /** Padding before and after, per spatial axis: [[top, bottom], [left, right]]. */
  pads: [[number, number], [number, number]];
}

function pairOf(node: OnnxNode, name: string, v: number[] | undefined, spatial: number, fallback: number): number[] {
  const list = v ?? Array<number>(spatial).fill(fallback);
  if (list.length !== spatial) throw unsupportedForm(node, `${name} of length other than the ${spatial} spatial axes`, JSON.stringify(list));
  return spatial === 1 ? [1, list[0]!] : list;
}

/**
 * The window of a Conv/pool node over `inSize` (the spatial sizes, 1 or 2 of them). Explicit pads
 * are kept as they are, asymmetric ones included; auto_pad SAME_UPPER/SAME_LOWER pads so that the
 * output has ceil(in / stride) positions, the odd pixel after (UPPER) or before (LOWER).
 */
export function windowOf(node: OnnxNode, inSize: readonly number[], kernelShape: readonly number[]): Window {
  const spatial = inSize.length;
  if (spatial !== 1 && spatial !== 2) throw unsupportedForm(node, `${spatial}-D windows (1-D and 2-D are)`, `input spatial size [${inSize.join(', ')}]`);
  const kernel = pairOf(node, 'kernel_shape', [...kernelShape], spatial, 1) as [number, number];
  const strides = pairOf(node, 'strides', intsAttr(node, 'strides'), spatial, 1) as [number, number];
  const dilations = pairOf(node, 'dilations', intsAttr(node, 'dilations'), spatial, 1) as [number, number];
  const size = spatial === 1 ? [1, inSize[0]!] : [...inSize];
  const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
  let pads: [[number, number], [number, number]];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = [0, 1].map((i) => {
      const reach = (kernel[i]! - 1) * dilations[i]! + 1;
      const total = Math.max((Math.ceil(size[i]! / strides[i]!) - 1) * strides[i]! + reach - size[i]!, 0);
      const small = Math.floor(total / 2);
      return autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
    }) as [[number, number], [number, number]];
  } else if (autoPad === 'VALID') {
    pads = [[0, 0], [0, 0]];
  } else if (autoPad === 'NOTSET') {
    const p = intsAttr(node, 'pads') ?? Array<number>(2 * spatial).fill(0);
    if (p.length !== 2 * spatial) throw unsupportedForm(node, `pads of length other than ${2 * spatial}`, JSON.stringify(p));
    pads = spatial === 1 ? [[0, 0], [p[0]!, p[1]!]] : [[p[0]!, p[2]!], [p[1]!, p[3]!]];
  } else {
    throw unsupportedForm(node, `auto_pad ${JSON.stringify(autoPad)}`, JSON.stringify(autoPad));
  }
  return { kernel, strides, dilations, pads };
}

/**
 * Extra padding after the end so that a pool with ceil_mode = 1 gets its partial last window:
 * out = ceil((in + pads − reach) / stride) + 1, less one when that last window would start in the
 * end padding (PyTorch's and ONNX's rule).
 */
export function ceilExtra(node: OnnxNode, w: Window, size: readonly [number, number]): [number, number] {
  if (intAttr(node, 'ceil_mode', 0) !== 1) return [0, 0];
  return [0, 1].map((i) => {
    const reach = (w.kernel[i]! - 1) * w.dilations[i]! + 1;
    const padded = size[i]! + w.pads[i]![0] + w.pads[i]![1];
    let out = Math.ceil((padded - reach) / w.strides[i]!) + 1;
    if ((out - 1) * w.strides[i]! >= size[i]! + w.pads[i]![0]) out -= 1;
    return Math.max((out - 1) * w.strides[i]! + reach - padded, 0);
  }) as [number, number];
}

/** NCHW (or NCL) → NHWC (a 1-D input gets H = 1): TF.js's CPU and wasm windows are channels-last. */
export function toNhwc(x: tf.Tensor): tf.Tensor4D {
  const x4 = x.rank === 3 ? tf.expandDims(x, 2) : x;
  return tf.transpose(x4, [0, 2, 3, 1]) as tf.Tensor4D;
}

/** NHWC → NCHW, or NCL when the input was 1-D. */
export function fromNhwc(y: tf.Tensor4D, rank: number): tf.Tensor {
  const back = tf.transpose(y, [0, 3, 1, 2]);
  return rank === 3 ? tf.squeeze(back, [2]) : back;
}

/** Pads an NHWC tensor's spatial axes by `pads` (plus `extra` after each), with `value`. */
export function padSpatial(x: tf.Tensor4D, pads: Window['pads'], extra: [number, number] = [0, 0], value = 0): tf.Tensor4D {
  const [[t, b], [l, r]] = pads;
  if (t + b + l + r + extra[0] + extra[1] === 0) return x;
  return tf.pad(x, [[0, 0], [t, b + extra[0]], [l, r + extra[1]], [0, 0]], value);
}
