import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { Rng, deriveSeed } from '../engine/rng.js';
import { glorot } from './output.js';

/** Width multipliers Keras publishes ImageNet weights for (1.3 and 1.4 widen the last conv too; not offered). */
export const MOBILENETV2_ALPHAS = [0.35, 0.5, 0.75, 1.0] as const;
export type MobileNetV2Alpha = (typeof MOBILENETV2_ALPHAS)[number];

export interface MobileNetV2Options {
  /** Width multiplier: scales every block's channels (rounded to multiples of 8). Default 1.0. */
  alpha?: MobileNetV2Alpha;
  /** Height × width × 3; each side ≥ 32 (five stride-2 stages). Default [224, 224, 3]. */
  inputShape?: readonly [number, number, number];
  /** Seed for the initial weights (before any weights file is loaded). Default 0. */
  seed?: number;
}

/** [output channels (before alpha), stride, expansion] of the 17 inverted-residual blocks (Sandler et al. 2018, table 2). */
const BLOCKS: ReadonlyArray<readonly [number, number, number]> = [
  [16, 1, 1],
  [24, 2, 6], [24, 1, 6],
  [32, 2, 6], [32, 1, 6], [32, 1, 6],
  [64, 2, 6], [64, 1, 6], [64, 1, 6], [64, 1, 6],
  [96, 1, 6], [96, 1, 6], [96, 1, 6],
  [160, 2, 6], [160, 1, 6], [160, 1, 6],
  [320, 1, 6],
];

/** BatchNormalization as keras.applications sets it (TF.js's defaults differ: momentum 0.99). */
const BN = { epsilon: 1e-3, momentum: 0.999 } as const;

/**
 * Keras's `_make_divisible`: the nearest multiple of 8 (at least 8), bumped up one step when
 * rounding down lost more than 10%. JS and Python share IEEE doubles, so products like 24·0.35
 * round the same way here as in Keras.
 */
export function makeDivisible(v: number, divisor = 8): number {
  let rounded = Math.max(divisor, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * v) rounded += divisor;
  return rounded;
}

/**
 * MobileNetV2 without its classifier (include_top=False), equal to
 * `keras.applications.MobileNetV2(include_top=False, weights=None, alpha, input_shape)`: same
 * layer names, order, types and shapes (Conv1 … out_relu), so Keras's weight files load unchanged —
 * the legacy file matches by layer name, a Keras 3 `.weights.h5` by layer order.
 */
export function buildMobileNetV2(options: MobileNetV2Options = {}): tfl.LayersModel {
  const alpha = options.alpha ?? 1.0;
  if (!(MOBILENETV2_ALPHAS as readonly number[]).includes(alpha)) {
    throw new GraftError('BAD_ARGUMENT', `MobileNetV2 alpha must be one of ${MOBILENETV2_ALPHAS.join(', ')} (the widths Keras has weights for); received alpha=${String(alpha)}.`);
  }
  const shape = options.inputShape ?? [224, 224, 3];
  if (shape.length !== 3 || shape[2] !== 3 || !shape.every((d) => Number.isInteger(d)) || shape[0] < 32 || shape[1] < 32) {
    throw new GraftError('BAD_ARGUMENT', `MobileNetV2 takes RGB images of at least 32×32; received input shape [${shape.join(', ')}]. Resize the images (e.g. --input 96) or pass [height, width, 3].`);
  }
  const rng = new Rng(deriveSeed(options.seed ?? 0, 'mobilenetv2-init'));
  const apply = (layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]): tfl.SymbolicTensor => layer.apply(x) as tfl.SymbolicTensor;
  const conv1x1 = (x: tfl.SymbolicTensor, filters: number, name: string): tfl.SymbolicTensor =>
    apply(tfl.layers.conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: glorot(rng), name }), x);
  const bn = (x: tfl.SymbolicTensor, name: string): tfl.SymbolicTensor => apply(tfl.layers.batchNormalization({ ...BN, name }), x);
  const relu6 = (x: tfl.SymbolicTensor, name: string): tfl.SymbolicTensor => apply(tfl.layers.reLU({ maxValue: 6, name }), x);

  const input = tfl.input({ shape: [...shape], name: 'input_layer' });
  let x = apply(tfl.layers.conv2d({ filters: makeDivisible(32 * alpha), kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: glorot(rng), name: 'Conv1' }), input);
  x = relu6(bn(x, 'bn_Conv1'), 'Conv1_relu');

  BLOCKS.forEach(([filters, stride, expansion], id) => {
    const inChannels = x.shape[3]!;
    const outChannels = makeDivisible(Math.trunc(filters * alpha));
    const prefix = id === 0 ? 'expanded_conv_' : `block_${id}_`;
    const block = x;
    let y = x;
    if (id > 0) y = relu6(bn(conv1x1(y, expansion * inChannels, `${prefix}expand`), `${prefix}expand_BN`), `${prefix}expand_relu`);
    if (stride === 2) y = apply(tfl.layers.zeroPadding2d({ padding: correctPad(y), name: `${prefix}pad` }), y);
    y = apply(
      tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: stride === 1 ? 'same' : 'valid', useBias: false, depthwiseInitializer: glorot(rng), name: `${prefix}depthwise` }),
      y,
    );
    y = relu6(bn(y, `${prefix}depthwise_BN`), `${prefix}depthwise_relu`);
    y = bn(conv1x1(y, outChannels, `${prefix}project`), `${prefix}project_BN`);
    // The residual needs matching shapes; the linear bottleneck (no ReLU after project) is the paper's.
    x = inChannels === outChannels && stride === 1 ? apply(tfl.layers.add({ name: `${prefix}add` }), [block, y]) : y;
  });

  // The paper keeps the last conv at 1280 channels for alpha ≤ 1.
  x = relu6(bn(conv1x1(x, 1280, 'Conv_1'), 'Conv_1_bn'), 'out_relu');
  return tfl.model({ inputs: input, outputs: x, name: `mobilenetv2_${alpha.toFixed(2)}_${shape[0]}` });
}

/**
 * Keras's `imagenet_utils.correct_pad` for a 3×3 stride-2 convolution: one pixel of zeros on each
 * side, but none before an even side, so the valid convolution sees what TF's 'same' would.
 */
function correctPad(x: tfl.SymbolicTensor): [[number, number], [number, number]] {
  const h = x.shape[1]!;
  const w = x.shape[2]!;
  return [[h % 2 === 0 ? 0 : 1, 1], [w % 2 === 0 ? 0 : 1, 1]];
}
