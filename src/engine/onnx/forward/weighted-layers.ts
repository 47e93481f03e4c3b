import type * as tfl from '@tensorflow/tfjs-layers';
import { channelsLast, configOf, image, requireVariable, variable, type ForwardContext, type LayerEmitter, type Value } from './context.js';
import { pair, tfPads } from './tf-padding.js';
import { unsupported } from './unsupported.js';

/**
 * The layers with weights: convolutions, Dense and BatchNormalization. Weights go through
 * ctx.param (constants for inference, TF.js variables in the training form).
 */

function activationOf(c: Record<string, unknown>): string {
  return typeof c.activation === 'string' ? c.activation : c.activation == null ? 'linear' : unsupported(`activation ${JSON.stringify(c.activation)}`);
}

function bias(ctx: ForwardContext, layer: tfl.layers.Layer, c: Record<string, unknown>, units: number): string[] {
  if (c.useBias === false) return [];
  const b = variable(layer, 'bias');
  if (!b) return [];
  if (b.data.length !== units) unsupported(`bias of ${b.data.length} values for ${units} outputs`);
  return [ctx.param(layer, 'bias', 'same')!];
}

interface Window {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  pads: number[];
}

function windowOf(c: Record<string, unknown>, x: Value): Window {
  const [h, w] = image(x);
  const kernel = pair(c.kernelSize, 'kernel size');
  const strides = pair(c.strides ?? 1, 'strides');
  const dilations = pair(c.dilationRate ?? 1, 'dilation rate');
  return { kernel, strides, dilations, pads: tfPads(c.padding, [h, w], kernel, strides, dilations) };
}

function conv(ctx: ForwardContext, x: string, w: string, b: string[], win: Window, group: number): string {
  return ctx.g.op('Conv', [x, w, ...b], { kernel_shape: win.kernel, strides: win.strides, dilations: win.dilations, pads: win.pads, group }, 'conv');
}

const conv2d: LayerEmitter = (ctx, layer, [x]) => {
  const c = channelsLast(layer);
  const win = windowOf(c, x!);
  const k = requireVariable(layer, 'kernel');
  const [kh, kw, cin, cout] = k.shape as [number, number, number, number];
  if (cin !== x!.shape[2]) unsupported(`kernel for ${cin} input channels on an input with ${x!.shape[2]}`);
  const w = ctx.param(layer, 'kernel', 'conv')!;
  return ctx.activate(activationOf(c), conv(ctx, x!.name, w, bias(ctx, layer, c, cout), win, 1));
};

const depthwiseConv2d: LayerEmitter = (ctx, layer, [x]) => {
  const c = channelsLast(layer);
  const win = windowOf(c, x!);
  const k = requireVariable(layer, 'depthwiseKernel');
  const [kh, kw, channels, mult] = k.shape as [number, number, number, number];
  if (channels !== x!.shape[2]) unsupported(`kernel for ${channels} channels on an input with ${x!.shape[2]}`);
  const w = ctx.param(layer, 'depthwiseKernel', 'depthwise')!;
  return ctx.activate(activationOf(c), conv(ctx, x!.name, w, bias(ctx, layer, c, channels * mult), win, channels));
};

/** Depthwise then pointwise (1×1, stride 1, no padding), the bias and activation after both. */
const separableConv2d: LayerEmitter = (ctx, layer, [x]) => {
  const c = channelsLast(layer);
  const win = windowOf(c, x!);
  const dk = requireVariable(layer, 'depthwiseKernel');
  const pk = requireVariable(layer, 'pointwiseKernel');
  const channels = dk.shape[2]!;
  const cout = pk.shape[3]!;
  const mid = conv(ctx, x!.name, ctx.param(layer, 'depthwiseKernel', 'depthwise')!, [], win, channels);
  const pw = ctx.param(layer, 'pointwiseKernel', 'conv')!;
  const one: Window = { kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0] };
  return ctx.activate(activationOf(c), conv(ctx, mid, pw, bias(ctx, layer, c, cout), one, 1));
};

/** Gemm on vectors; on an image, Dense mixes the channels of each pixel: a 1×1 convolution. */
const dense: LayerEmitter = (ctx, layer, [x]) => {
  const c = configOf(layer);
  const k = requireVariable(layer, 'kernel');
  const [cin, cout] = k.shape as [number, number];
  const rank = x!.shape.length;
  if (x!.shape[rank - 1] !== cin) unsupported(`kernel for ${cin} inputs on an input of shape [${x!.shape.join(', ')}]`);
  let y: string;
  if (rank === 1) {
    y = ctx.g.op('Gemm', [x!.name, ctx.param(layer, 'kernel', 'same')!, ...bias(ctx, layer, c, cout)], undefined, 'dense');
  } else if (rank === 3) {
    const w = ctx.param(layer, 'kernel', 'denseConv')!;
    y = conv(ctx, x!.name, w, bias(ctx, layer, c, cout), { kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0] }, 1);
  } else {
    return unsupported(`input of rank ${rank + 1}`);
  }
  return ctx.activate(activationOf(c), y);
};

/**
 * Inference mode: (x − moving mean) / √(moving variance + ε) · γ + β over the channel axis, as
 * one BatchNormalization op (onnxruntime folds it into the convolution before it). In the training
 * form a BatchNorm whose own `trainable` flag is on is recorded to run in training mode (as
 * train/forward.ts decides), with Keras's momentum as the node's (the same convention as ONNX's),
 * unless the record says BatchNorm keeps its statistics (FitOptions.batchNorm 'frozen').
 */
const batchNormalization: LayerEmitter = (ctx, layer, [x]) => {
  const c = configOf(layer);
  const rank = x!.shape.length;
  const axis = c.axis;
  if (rank !== 1 && rank !== 3) unsupported(`input of rank ${rank + 1}`);
  if (axis !== -1 && axis !== rank && !(Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === rank))) unsupported(`normalisation over axis ${JSON.stringify(axis)} (only the last, channel axis is translated)`);
  const channels = x!.shape[rank - 1]!;
  const mean = requireVariable(layer, 'movingMean');
  const variance = requireVariable(layer, 'movingVariance');
  const gamma = variable(layer, 'gamma')?.data ?? new Float32Array(channels).fill(1);
  const beta = variable(layer, 'beta')?.data ?? new Float32Array(channels);
  for (const v of [mean.data, variance.data, gamma, beta]) if (v.length !== channels) unsupported(`statistics of ${v.length} values for ${channels} channels`);
  const epsilon = typeof c.epsilon === 'number' ? c.epsilon : 1e-3;
  const p = (prop: string, data: Float32Array): string => ctx.param(layer, prop, 'same') ?? ctx.weight(data, [channels], `${layer.name}_${prop}`);
  const [g, b, m, v] = [p('gamma', gamma), p('beta', beta), p('movingMean', mean.data), p('movingVariance', variance.data)];
  const rec = ctx.training;
  if (rec && rec.batchNormTraining && layer.trainable) {
    if (rec.batchNorms.some((n) => n.layer === layer)) unsupported('a BatchNormalization applied twice in training mode (shared moving statistics)');
    const momentum = typeof c.momentum === 'number' ? c.momentum : 0.99;
    rec.batchNorms.push({ layer, mean: m, variance: v, momentum });
    return ctx.g.op('BatchNormalization', [x!.name, g, b, m, v], { epsilon: { float: epsilon }, momentum: { float: momentum } }, 'bn');
  }
  return ctx.g.op('BatchNormalization', [x!.name, g, b, m, v], { epsilon: { float: epsilon } }, 'bn');
};

export const WEIGHTED_LAYERS: Record<string, LayerEmitter> = {
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  Dense: dense,
  BatchNormalization: batchNormalization,
};
