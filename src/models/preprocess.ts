import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';

/**
 * Backbone input preprocessing as layers at the front of the model, so it is applied exactly once,
 * wherever the model goes (training, predict, export to Keras). graft feeds every model pixels in
 * [0, 1]; these layers turn them into what the pretrained weights expect. They are never trainable
 * and never reused as ordinary layers by freeze/unfreeze policies.
 */
export type Preprocessing = 'caffe' | 'tf';

export const PREPROCESS_PREFIX = 'graft_preprocess_';

/** ImageNet mean in BGR order, 0..255 (keras.applications.imagenet_utils, mode "caffe"). */
const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68] as const;

export function isPreprocessLayer(layer: tfl.layers.Layer): boolean {
  return layer.name.startsWith(PREPROCESS_PREFIX);
}

/**
 * Applies the preprocessing to `x` (a symbolic [h, w, c] image tensor in [0, 1]).
 * 'caffe' (VGG16): RGB → BGR, 0..255, minus the ImageNet mean per channel — a frozen 1×1 convolution
 * (a plain Conv2D, so the exported .keras loads anywhere). 'tf' (MobileNetV2): x / 127.5 − 1 on
 * 0..255 pixels, i.e. 2x − 1 on [0, 1] — a Rescaling layer.
 */
export function applyPreprocess(kind: Preprocessing, x: tfl.SymbolicTensor): tfl.SymbolicTensor {
  if (kind === 'tf') return tfl.layers.rescaling({ scale: 2, offset: -1, name: `${PREPROCESS_PREFIX}tf`, trainable: false }).apply(x) as tfl.SymbolicTensor;
  const channels = x.shape[x.shape.length - 1];
  if (channels !== 3) throw new GraftError('BAD_ARGUMENT', `Caffe-style preprocessing needs RGB input (3 channels); received ${channels}. Convert the images to RGB.`);
  const layer = tfl.layers.conv2d({ filters: 3, kernelSize: 1, name: `${PREPROCESS_PREFIX}caffe`, trainable: false });
  const out = layer.apply(x) as tfl.SymbolicTensor;
  const kernel = new Float32Array(9);
  // kernel[0, 0, in, out]: output channel o (B, G, R) reads input channel 2 − o (R, G, B).
  for (let o = 0; o < 3; o++) kernel[(2 - o) * 3 + o] = 255;
  tf.tidy(() => layer.setWeights([tf.tensor4d(kernel, [1, 1, 3, 3]), tf.tensor1d(CAFFE_MEAN_BGR.map((m) => -m))]));
  return out;
}
