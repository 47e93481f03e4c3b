import * as tfl from '@tensorflow/tfjs-layers';
import { Rng, deriveSeed } from '../engine/rng.js';
import { glorot, outputLayer, type OutputSpec } from './output.js';

export interface MlpOptions extends OutputSpec {
  /** Shape of one input sample. Default [28, 28]. */
  inputShape?: readonly number[];
  /** Hidden units. Default 128 (the write-up's Model A). */
  hidden?: number;
  /** Dropout rate after the hidden layer. Default 0.2. */
  dropout?: number;
  /** Seed for the initial weights. Default 0. */
  seed?: number;
}

export const MLP_DEFAULTS = { inputShape: [28, 28], hidden: 128, dropout: 0.2, seed: 0 } as const;

/** The write-up's MLP: Flatten → Dense(hidden, relu) → Dropout → Dense(k) output. */
export function buildMlp(options: MlpOptions): tfl.Sequential {
  const o = { ...MLP_DEFAULTS, ...options };
  const rng = new Rng(deriveSeed(o.seed, 'mlp-init'));
  return tfl.sequential({
    name: 'mlp',
    layers: [
      tfl.layers.flatten({ inputShape: [...o.inputShape], name: 'flatten' }),
      tfl.layers.dense({ units: o.hidden, activation: 'relu', kernelInitializer: glorot(rng), name: 'hidden' }),
      tfl.layers.dropout({ rate: o.dropout, name: 'dropout' }),
      outputLayer(o, rng, 'output'),
    ],
  });
}
