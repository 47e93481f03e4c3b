import type { BackboneSpec } from './backbones.js';

/**
 * Official ImageNet weights for graft's backbones: the files keras.applications downloads
 * (include_top=False), with the hash Keras checks where it publishes one.
 */
export interface ZooEntry {
  /** File name, as Keras caches it (~/.keras/models/NAME). */
  file: string;
  url: string;
  /** MD5 published in keras.applications; undefined where Keras publishes none (MobileNetV2). */
  md5?: string;
  /** Approximate size, for the progress line and the "fetch it by hand" message. */
  megabytes: number;
}

const KERAS_APPLICATIONS = 'https://storage.googleapis.com/tensorflow/keras-applications';
export const ZOO_HOSTS = ['storage.googleapis.com'];

/** MobileNetV2 ImageNet weights exist for these training resolutions; Keras falls back to 224. */
const MOBILENETV2_ROWS = [96, 128, 160, 192, 224];

export function zooEntry(spec: BackboneSpec, inputSide: number): ZooEntry {
  if (spec.name === 'vgg16') {
    const file = 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5';
    return { file, url: `${KERAS_APPLICATIONS}/vgg16/${file}`, md5: '6d6bbae143d832006294945121d1f1fc', megabytes: 58.9 };
  }
  const alpha = spec.alpha ?? 1;
  const rows = MOBILENETV2_ROWS.includes(inputSide) ? inputSide : 224;
  // Python's str(float(alpha)): 0.35 → "0.35", 0.5 → "0.5", 1 → "1.0".
  const alphaText = Number.isInteger(alpha) ? alpha.toFixed(1) : String(alpha);
  const file = `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_${alphaText}_${rows}_no_top.h5`;
  const megabytes = { 0.35: 1.7, 0.5: 2.8, 0.75: 5.6, 1: 9.4 }[alpha] ?? 9.4;
  return { file, url: `${KERAS_APPLICATIONS}/mobilenet_v2/${file}`, megabytes };
}
