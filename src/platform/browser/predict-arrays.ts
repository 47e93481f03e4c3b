import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../../errors.js';
import { sampleSize } from '../../data/dataset.js';
import { modelSampleShape } from '../../train/input-shape.js';
import { predictProbabilities } from '../../train/infer.js';
import { describeOutput } from '../../train/loss.js';

/**
 * Class probabilities of a model for samples held in one array (row-major, values as the model was
 * trained on, e.g. 0..1 pixels): row-major [n, classes], one column per class even for a single
 * sigmoid unit. The Node entry's `predict` reads a run folder and decodes images; a page already
 * holds the model and the pixels, so this takes them directly.
 */
export function predictArrays(model: tfl.LayersModel, x: Float32Array, sampleShape: readonly number[]): Float32Array {
  const shape = modelSampleShape(model, sampleShape, 'predictArrays input');
  const size = sampleSize(shape);
  if (x.length === 0 || x.length % size !== 0) {
    throw new GraftError('BAD_ARGUMENT', `predictArrays: x holds ${x.length} values, not a whole number (≥ 1) of samples of shape [${shape.join(', ')}] (${size} values each). Pass n × ${size} values, row-major.`);
  }
  return predictProbabilities(model, describeOutput(model), x, shape, 'predictArrays input');
}
