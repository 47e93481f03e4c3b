import * as tf from '@tensorflow/tfjs-core';
import type { OnnxNode } from '../model-proto.js';
import { floatAttr, intAttr, need, normAxis } from './attrs.js';
import { activationOps } from './ops/activations.js';
import { convChannelsLast } from './ops/conv.js';
import { elementwiseOps } from './ops/elementwise.js';
import { poolChannelsLast } from './ops/pool.js';
import type { TfOpFn } from './types.js';

/**
 * Channels-last variants of ops, so that a run of Conv → BN → activation → Conv stays NHWC (what
 * TF.js's CPU/wasm windows want) instead of transposing in and out around every window op. The
 * runner (run.ts) holds a 4-D value channels-last when an op here made it so, and transposes it
 * back to ONNX's NCHW only for a reader without a variant, once.
 *
 * `when` says which inputs the variant takes channels-last, given which inputs the runner already
 * holds so (`held`) and the inputs' ranks; undefined: run the op on NCHW as usual.
 */
export interface ChannelsLastOp {
  fn: TfOpFn;
  when: (node: OnnxNode, held: readonly boolean[], ranks: readonly number[]) => boolean[] | undefined;
}

/** NCHW axis → its position in NHWC. */
const NHWC_AXIS = [0, 3, 1, 2];

/** Any tensor broadcasting against an NCHW 4-D one, made to broadcast against its NHWC form. */
function broadcastChannelsLast(t: tf.Tensor): tf.Tensor {
  if (t.rank === 0) return t;
  const four = t.rank < 4 ? tf.reshape(t, [...Array<number>(4 - t.rank).fill(1), ...t.shape]) : t;
  return tf.transpose(four, [0, 2, 3, 1]);
}

/** Window ops always run channels-last on 4-D input (they transpose anyway). */
const windowed = (fn: TfOpFn): ChannelsLastOp => ({ fn, when: (_n, _held, ranks) => (ranks[0] === 4 ? [true] : undefined) });

/** Element-wise ops of one tensor: the same function in either layout, kept channels-last when the input is. */
const unary = (fn: TfOpFn): ChannelsLastOp => ({ fn, when: (node, held) => (held[0] && !node.outputs[1] ? [true] : undefined) });

/**
 * Broadcasting binary ops with one operand held channels-last: the other is given as it is and
 * moved to broadcast against NHWC here (ranks up to 4: unit axes in front, then transposed).
 */
const binary = (op: string): ChannelsLastOp => {
  const nchw = elementwiseOps[op]!;
  return {
    fn: (node, inputs, ctx) => {
      const held = ctx.channelsLast ?? [];
      const [a, b] = [0, 1].map((i) => (held[i] ? need(node, inputs, i) : broadcastChannelsLast(need(node, inputs, i))));
      return nchw(node, [a, b], ctx);
    },
    when: (_n, held, ranks) => ((held[0] || held[1]) && ranks.every((r) => r <= 4) ? [held[0]!, held[1]!] : undefined),
  };
};

/** Inference BatchNormalization on NHWC: the per-channel vectors broadcast along the last axis. */
const batchNorm: ChannelsLastOp = {
  fn: (node, inputs) => {
    const x = need(node, inputs, 0);
    const factor = tf.mul(need(node, inputs, 1), tf.rsqrt(tf.add(need(node, inputs, 4), floatAttr(node, 'epsilon', 1e-5))));
    return [tf.add(tf.mul(tf.sub(x, need(node, inputs, 3)), factor), need(node, inputs, 2))];
  },
  when: (node, held) => (held[0] && intAttr(node, 'training_mode', 0) !== 1 && !node.outputs.slice(1).some((o) => o) ? [true] : undefined),
};

const globalPool = (f: (x: tf.Tensor) => tf.Tensor): ChannelsLastOp => ({
  fn: (node, inputs) => [f(need(node, inputs, 0))],
  when: (_n, held) => (held[0] ? [true] : undefined),
});

/** Concat of channels-last inputs along the mapped axis. */
const concat: ChannelsLastOp = {
  fn: (node, inputs) => [tf.concat(inputs.filter((t): t is tf.Tensor => t !== undefined), NHWC_AXIS[normAxis(node, intAttr(node, 'axis', 0), 4)]!)],
  when: (_n, held, ranks) => (held.length > 1 && held.every(Boolean) && ranks.every((r) => r === 4) ? held.map(() => true) : undefined),
};

const UNARY = ['Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Erf', 'Softplus', 'Elu', 'Clip', 'HardSigmoid', 'HardSwish', 'Gelu', 'Neg', 'Abs', 'Sqrt', 'Reciprocal', 'Exp', 'Log', 'Identity', 'Dropout'];
const ops: Record<string, TfOpFn> = { ...elementwiseOps, ...activationOps };

export const CHANNELS_LAST: ReadonlyMap<string, ChannelsLastOp> = new Map<string, ChannelsLastOp>([
  ['Conv', windowed(convChannelsLast)],
  ...Object.entries(poolChannelsLast).map(([op, fn]): [string, ChannelsLastOp] => [op, windowed(fn)]),
  ...UNARY.map((op): [string, ChannelsLastOp] => [op, unary(ops[op]!)]),
  ...['Add', 'Sub', 'Mul', 'Div'].map((op): [string, ChannelsLastOp] => [op, binary(op)]),
  ['BatchNormalization', batchNorm],
  ['GlobalAveragePool', globalPool((x) => tf.mean(x, [1, 2], true))],
  ['GlobalMaxPool', globalPool((x) => tf.max(x, [1, 2], true))],
  ['Concat', concat],
]);
