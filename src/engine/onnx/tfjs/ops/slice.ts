import * as tf from '@tensorflow/tfjs-core';
import { GraftError } from '../../../../errors.js';
import { describeNode, floatAttr, intsAttr, need, normAxis, stringAttr, unsupportedForm } from '../attrs.js';
import { intsOf, scalarOf, toInt32 } from '../values.js';
import type { TfOpFn } from '../types.js';
import { gatherDiff } from './gather.js';

/** Integer list from an input (opset ≥ 10) or else an attribute (older Slice/Pad), sentinels mapped to int32. */
function listOf(node: Parameters<TfOpFn>[0], input: tf.Tensor | undefined, attr: string): number[] | undefined {
  if (input) return intsOf(input);
  return intsAttr(node, attr)?.map((v) => toInt32(v, `${describeNode(node)} attribute ${attr}`));
}

/**
 * Slice with ONNX's clamping: negative starts/ends count from the end, ends past the end (INT64_MAX,
 * carried as int32's max) stop there; negative steps walk backwards. Unit steps are one tf.slice;
 * other steps gather the chosen positions, axis by axis.
 */
const slice: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const starts = listOf(node, inputs[1], 'starts') ?? [];
  const ends = listOf(node, inputs[2], 'ends') ?? [];
  const axes = (listOf(node, inputs[3], 'axes') ?? starts.map((_, i) => i)).map((a) => normAxis(node, a, x.rank));
  const steps = listOf(node, inputs[4], 'steps') ?? starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length || steps.includes(0)) {
    throw new GraftError('MODEL_CORRUPT', `${describeNode(node)}: starts ${JSON.stringify(starts)}, ends ${JSON.stringify(ends)}, axes ${JSON.stringify(axes)}, steps ${JSON.stringify(steps)} do not match in length or have a zero step. Re-export the model.`);
  }
  const begin = x.shape.map(() => 0);
  const size = [...x.shape];
  const strided: Array<{ axis: number; from: number; to: number; step: number }> = [];
  axes.forEach((axis, i) => {
    const dim = x.shape[axis]!;
    const step = steps[i]!;
    const at = (v: number): number => (v < 0 ? v + dim : v);
    const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
    if (step > 0) {
      const from = clamp(at(starts[i]!), 0, dim);
      const to = clamp(at(ends[i]!), 0, dim);
      if (step === 1) {
        begin[axis] = from;
        size[axis] = Math.max(to - from, 0);
      } else strided.push({ axis, from, to, step });
    } else {
      strided.push({ axis, from: clamp(at(starts[i]!), -1, dim - 1), to: clamp(at(ends[i]!), -1, dim - 1), step });
    }
  });
  let y = begin.every((b, i) => b === 0 && size[i] === x.shape[i]) ? x.clone() : tf.slice(x, begin, size);
  for (const { axis, from, to, step } of strided) {
    const picks: number[] = [];
    for (let p = from; step > 0 ? p < to : p > to; p += step) picks.push(p);
    const before = y;
    y = gatherDiff(y, tf.tensor1d(picks, 'int32'), axis);
    before.dispose();
  }
  return [y];
};

/**
 * Pad: pads from input 1 (opset ≥ 11) or the `pads` attribute, optional axes (opset 18), modes
 * constant (value from input 2 or the `value` attribute), reflect and edge. Negative pads crop.
 */
const pad: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const raw = listOf(node, inputs[1], 'pads') ?? [];
  const axes = inputs[3] ? intsOf(inputs[3]).map((a) => normAxis(node, a, x.rank)) : x.shape.map((_, i) => i);
  if (raw.length !== 2 * axes.length) throw new GraftError('MODEL_CORRUPT', `${describeNode(node)}: ${raw.length} pads for ${axes.length} axes (expected twice as many). Re-export the model.`);
  const pairs = x.shape.map((): [number, number] => [0, 0]);
  axes.forEach((a, i) => (pairs[a] = [raw[i]!, raw[i + axes.length]!]));
  const grow = pairs.map(([b, e]): [number, number] => [Math.max(b, 0), Math.max(e, 0)]);
  const mode = stringAttr(node, 'mode', 'constant');
  let y: tf.Tensor;
  if (mode === 'constant') {
    const value = inputs[2] ? scalarOf(inputs[2]) : floatAttr(node, 'value', 0);
    y = tf.pad(x, grow, value);
  } else if (mode === 'reflect') {
    y = tf.mirrorPad(x, grow, 'reflect');
  } else if (mode === 'edge') {
    // Edge: each axis gathers its clamped positions (−b…n−1+e clamped to [0, n−1]).
    y = x;
    grow.forEach(([b, e], axis) => {
      if (b + e === 0) return;
      const n = x.shape[axis]!;
      const picks = Array.from({ length: n + b + e }, (_, p) => Math.min(Math.max(p - b, 0), n - 1));
      y = gatherDiff(y, tf.tensor1d(picks, 'int32'), axis);
    });
    if (y === x) y = x.clone();
  } else {
    throw unsupportedForm(node, `Pad mode ${JSON.stringify(mode)} (constant, reflect and edge are)`, JSON.stringify(mode));
  }
  if (pairs.every(([b, e]) => b >= 0 && e >= 0)) return [y];
  const begin = pairs.map(([b]) => (b < 0 ? -b : 0));
  const size = y.shape.map((d, i) => d - begin[i]! - Math.max(-pairs[i]![1], 0));
  return [tf.slice(y, begin, size)];
};

export const sliceOps: Record<string, TfOpFn> = { Slice: slice, Pad: pad };
