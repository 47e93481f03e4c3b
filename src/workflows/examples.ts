import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset.js';
import { buildExamples, EXAMPLES_FILE } from '../report/examples.js';
import { predictProbabilities } from '../train/infer.js';
import { describeOutput } from '../train/loss.js';

/**
 * examples.json for a run directory: the test images the model got most confidently wrong. Pass
 * `probs` when they are at hand (e.g. from the feature cache) to skip predicting again.
 */
export function examplesFile(model: tfl.LayersModel, test: Dataset, probs?: Float32Array): Record<string, string> {
  const head = describeOutput(model);
  probs ??= predictProbabilities(model, head, test, test.sampleShape, test.source);
  // Only the images shown are read from a test set kept on disk.
  const examples = buildExamples(test.rows ?? test.x, test.sampleShape, probs, head.classes, test.y, test.classNames);
  return { [EXAMPLES_FILE]: `${JSON.stringify(examples)}\n` };
}
