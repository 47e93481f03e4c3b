import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { sampleSize } from '../data/dataset.js';

/**
 * The model's per-sample input shape, checked against the data's. Layouts with the same number of
 * values (28×28 ↔ 28×28×1 ↔ 784) are reshaped; anything else is an error naming both shapes.
 */
export function modelSampleShape(model: tfl.LayersModel, dataShape: readonly number[], what: string): number[] {
  const input = model.inputs[0];
  if (!input) throw new GraftError('SHAPE_MISMATCH', `Model ${model.name} has no input.`);
  const shape = input.shape.slice(1);
  if (shape.some((d) => d === null)) {
    // A model that accepts any size takes the data as it comes.
    if (shape.length !== dataShape.length) {
      throw new GraftError('SHAPE_MISMATCH', `${what}: samples of shape [${dataShape.join(', ')}] do not fit model input [${shape.map((d) => d ?? '?').join(', ')}].`);
    }
    return [...dataShape];
  }
  const fixed = shape as number[];
  if (sampleSize(fixed) !== sampleSize(dataShape)) {
    throw new GraftError(
      'SHAPE_MISMATCH',
      `${what}: samples of shape [${dataShape.join(', ')}] (${sampleSize(dataShape)} values) do not fit the model's input [${fixed.join(', ')}] (${sampleSize(fixed)} values). ` +
        'Use data of the size the model was trained on, or resize the images first.',
    );
  }
  return fixed;
}
