import * as tfl from '@tensorflow/tfjs-layers';
import { Rng, deriveSeed } from '../engine/rng.js';
import { glorot, outputLayer, type OutputSpec } from './output.js';

export interface SmallCnnOptions extends OutputSpec {
  /** Shape of one input image, height × width × channels. Default [28, 28, 1]. */
  inputShape?: readonly number[];
  /** Filters of the two conv blocks. Default [32, 64]. */
  filters?: readonly [number, number];
  /** Units of the dense layer before the output. Default 128. */
  dense?: number;
  /** Dropout before the output. Default 0.3. */
  dropout?: number;
  /** Seed for the initial weights. Default 0. */
  seed?: number;
}

export const SMALL_CNN_DEFAULTS = { inputShape: [28, 28, 1], filters: [32, 64], dense: 128, dropout: 0.3, seed: 0 } as const;

/** Two conv blocks (Conv → BatchNorm → ReLU → MaxPool), then Dense → Dropout → output. */
export function buildSmallCnn(options: SmallCnnOptions): tfl.Sequential {
  const o = { ...SMALL_CNN_DEFAULTS, ...options };
  const rng = new Rng(deriveSeed(o.seed, 'cnn-init'));
  const block = (i: number, filters: number, first: boolean): tfl.layers.Layer[] => [
    tfl.layers.conv2d({
      filters,
      kernelSize: 3,
      padding: 'same',
      useBias: false, // BatchNorm's beta plays the bias
      kernelInitializer: glorot(rng),
      name: `conv${i}`,
      ...(first ? { inputShape: [...o.inputShape] } : {}),
    }),
    tfl.layers.batchNormalization({ name: `bn${i}` }),
    tfl.layers.activation({ activation: 'relu', name: `relu${i}` }),
    tfl.layers.maxPooling2d({ poolSize: 2, name: `pool${i}` }),
  ];
  return tfl.sequential({
    name: 'small_cnn',
    layers: [
      ...block(1, o.filters[0], true),
      ...block(2, o.filters[1], false),
      tfl.layers.flatten({ name: 'flatten' }),
      tfl.layers.dense({ units: o.dense, activation: 'relu', kernelInitializer: glorot(rng), name: 'hidden' }),
      tfl.layers.dropout({ rate: o.dropout, name: 'dropout' }),
      outputLayer(o, rng, 'output'),
    ],
  });
}
