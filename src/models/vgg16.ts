import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { Rng, deriveSeed } from '../engine/rng.js';
import { glorot } from './output.js';

export interface Vgg16Options {
  /** Height × width × 3; each side ≥ 32 (five 2× poolings). Default [224, 224, 3]. */
  inputShape?: readonly [number, number, number];
  /** Seed for the initial weights (before any weights file is loaded). Default 0. */
  seed?: number;
}

/** Filters per block, as in Simonyan & Zisserman (2014) and keras.applications.VGG16. */
const BLOCKS: ReadonlyArray<readonly [number, number]> = [
  [64, 2],
  [128, 2],
  [256, 3],
  [512, 3],
  [512, 3],
];

/**
 * VGG16 without its classifier (include_top=False), with Keras's layer names and order
 * (block1_conv1 … block5_pool), so Keras's weight files load unchanged: the legacy file matches by
 * layer name, a Keras 3 `.weights.h5` by layer order.
 */
export function buildVgg16(options: Vgg16Options = {}): tfl.LayersModel {
  const shape = options.inputShape ?? [224, 224, 3];
  if (shape.length !== 3 || shape[2] !== 3 || shape[0] < 32 || shape[1] < 32) {
    throw new GraftError('BAD_ARGUMENT', `VGG16 takes RGB images of at least 32×32; received input shape [${shape.join(', ')}]. Resize the images (e.g. --input 64).`);
  }
  const rng = new Rng(deriveSeed(options.seed ?? 0, 'vgg16-init'));
  const input = tfl.input({ shape: [...shape], name: 'input_layer' });
  let x: tfl.SymbolicTensor = input;
  BLOCKS.forEach(([filters, convs], b) => {
    for (let c = 1; c <= convs; c++) {
      x = tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: glorot(rng), name: `block${b + 1}_conv${c}` }).apply(x) as tfl.SymbolicTensor;
    }
    x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` }).apply(x) as tfl.SymbolicTensor;
  });
  return tfl.model({ inputs: input, outputs: x, name: 'vgg16' });
}
