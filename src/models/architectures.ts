import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { buildMlp } from './mlp.js';
import { buildSmallCnn } from './small-cnn.js';
import type { OutputSpec } from './output.js';

export type ArchitectureName = 'mlp' | 'cnn';
export const ARCHITECTURES: readonly ArchitectureName[] = ['mlp', 'cnn'];

/** Builds a named architecture for a task: used by the CLI and by baselines. */
export function buildArchitecture(name: string, output: OutputSpec & { inputShape: readonly number[]; seed: number }): tfl.LayersModel {
  if (name === 'mlp') return buildMlp(output);
  if (name === 'cnn') {
    const shape = output.inputShape.length === 2 ? [...output.inputShape, 1] : output.inputShape;
    return buildSmallCnn({ ...output, inputShape: shape });
  }
  throw new GraftError('BAD_ARGUMENT', `Unknown architecture ${JSON.stringify(name)}. Choose one of: ${ARCHITECTURES.join(', ')}.`);
}
