import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset.js';
import { assertUnitRange } from '../data/normalize.js';
import type { EngineChoice } from '../engine/engine-choice.js';
import { predictProbabilities } from '../train/infer.js';
import { predictProbabilitiesOn, type InferenceEngine } from '../train/infer-engine.js';
import { checkLabels, describeOutput } from '../train/loss.js';
import { argmaxRows, confusionMatrix, crossEntropyFromProbs, perClassMetrics, type ClassMetrics } from './metrics.js';

export interface Evaluation {
  accuracy: number;
  loss: number;
  /** confusion[true][predicted]. */
  confusion: number[][];
  perClass: ClassMetrics[];
  count: number;
}

/** Scores a model on a labelled dataset (inference mode). */
export function evaluate(model: tfl.LayersModel, data: Dataset): Evaluation {
  return evaluateWithProbabilities(model, data).evaluation;
}

/** `evaluate`, also returning the class probabilities (row-major [n, classes]) it scored. */
export function evaluateWithProbabilities(model: tfl.LayersModel, data: Dataset): { evaluation: Evaluation; probabilities: Float32Array } {
  assertUnitRange(data, 'evaluation data');
  const head = describeOutput(model);
  checkLabels(head, data.y, `Evaluation data ${data.source}`);
  const probabilities = predictProbabilities(model, head, data, data.sampleShape, data.source);
  return { evaluation: scoreProbabilities(probabilities, head.classes, data), probabilities };
}

/**
 * `evaluateWithProbabilities` with the forward pass on onnxruntime where the model translates and
 * the engine (the argument, else --engine/GRAFT_ENGINE) allows it; `engine` says which ran. Same
 * numbers to float32 rounding, several times faster for whole CNNs on CPU.
 */
export async function evaluateOn(model: tfl.LayersModel, data: Dataset, engine?: EngineChoice): Promise<{ evaluation: Evaluation; probabilities: Float32Array; engine: InferenceEngine }> {
  assertUnitRange(data, 'evaluation data');
  const head = describeOutput(model);
  checkLabels(head, data.y, `Evaluation data ${data.source}`);
  const { probabilities, engine: ran } = await predictProbabilitiesOn(model, head, data, engine);
  return { evaluation: scoreProbabilities(probabilities, head.classes, data), probabilities, engine: ran };
}

/** Accuracy, loss, confusion and per-class metrics of predicted probabilities against the labels. */
export function scoreProbabilities(probs: Float32Array, classes: number, data: Pick<Dataset, 'y' | 'classNames'>): Evaluation {
  const predicted = argmaxRows(probs, classes);
  const loss = crossEntropyFromProbs(probs, classes, data.y);
  const confusion = confusionMatrix(data.y, predicted, classes);
  let correct = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === data.y[i]) correct++;
  return { accuracy: correct / data.y.length, loss, confusion, perClass: perClassMetrics(confusion, data.classNames), count: data.y.length };
}
