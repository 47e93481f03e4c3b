import type { LayerRef, TransferOptions } from '../src/browser.js';

/**
 * The transfer arm's model: the source up to `cut`, then global average pooling, dropout 0.2 and a
 * softmax layer. Pooling first keeps the frozen phase's cached features at one vector an image
 * (1,280 floats for MobileNetV2) instead of a feature map, whatever the input size.
 */
export function transferOptionsFor(cut: LayerRef, classes: number): TransferOptions {
  return { cut, head: { classes, pooling: 'avg', activation: 'softmax', dropout: 0.2 } };
}
