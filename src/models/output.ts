import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { Rng } from '../engine/rng.js';

/** Output activations graft pairs with a loss; 'linear' means the model emits logits. */
export type OutputActivation = 'sigmoid' | 'softmax' | 'linear';

export interface OutputSpec {
  /** Number of classes. 2 gives one sigmoid unit (the write-up's Model B); more give softmax. */
  classes: number;
  /** Overrides the choice above; 'softmax' with 2 classes gives two units. */
  activation?: 'sigmoid' | 'softmax';
}

export function outputUnits(spec: OutputSpec): { units: number; activation: 'sigmoid' | 'softmax' } {
  if (!Number.isInteger(spec.classes) || spec.classes < 2) {
    throw new GraftError('BAD_ARGUMENT', `An output layer needs at least 2 classes; received classes=${spec.classes}. A task must keep two or more classes.`);
  }
  const activation = spec.activation ?? (spec.classes === 2 ? 'sigmoid' : 'softmax');
  if (activation === 'sigmoid' && spec.classes !== 2) {
    throw new GraftError('BAD_ARGUMENT', `A sigmoid output is for 2 classes; received classes=${spec.classes}. Use activation 'softmax' for ${spec.classes} classes.`);
  }
  return { units: activation === 'sigmoid' ? 1 : spec.classes, activation };
}

/** Seeded Glorot-uniform initializer: the same seed builds the same weights. */
export function glorot(rng: Rng): ReturnType<typeof tfl.initializers.glorotUniform> {
  return tfl.initializers.glorotUniform({ seed: rng.seed() });
}

export function outputLayer(spec: OutputSpec, rng: Rng, name: string): tfl.layers.Layer {
  const { units, activation } = outputUnits(spec);
  return tfl.layers.dense({ units, activation, kernelInitializer: glorot(rng), name });
}
