import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng, deriveSeed } from '../engine/rng.js';

/**
 * Gives every weight fresh, seeded initial values as Keras would at construction: kernels
 * Glorot-uniform, biases and BatchNorm betas and means zero, gammas and variances one. This turns
 * a transferred model into "the same architecture from scratch" for a baseline.
 */
export function reinitialize(model: tfl.LayersModel | readonly tfl.layers.Layer[], seed: number): void {
  const rng = new Rng(deriveSeed(seed, 'reinitialize'));
  const weights = Array.isArray(model) ? model.flatMap((l) => l.weights) : (model as tfl.LayersModel).weights;
  for (const w of weights) {
    const name = w.originalName.split('/').pop() ?? '';
    const shape = w.shape as number[];
    const value = tf.tidy(() => {
      if (/kernel/.test(name)) return tfl.initializers.glorotUniform({ seed: rng.seed() }).apply(shape) as tf.Tensor;
      if (/gamma|variance/.test(name)) return tf.ones(shape);
      return tf.zeros(shape);
    });
    w.write(value);
    value.dispose();
  }
}
