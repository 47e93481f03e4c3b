import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';

/**
 * Refuses a loaded model holding NaN or ±Infinity in any weight, naming the layer and the weight.
 * Such a model predicts NaN and trains to NaN; caught here, the file is blamed, not the learning
 * rate of a later training run. Checked after the weights are assigned, whatever the format.
 */
export function assertFiniteWeights(model: tfl.LayersModel, what: string): void {
  for (const layer of model.layers) {
    if (layer instanceof tfl.LayersModel) {
      assertFiniteWeights(layer, what);
      continue;
    }
    for (const w of layer.weights) {
      const values = w.read().dataSync();
      let bad = 0;
      let first = -1;
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i]!)) {
          if (first < 0) first = i;
          bad++;
        }
      }
      if (bad > 0) {
        throw new GraftError(
          'MODEL_CORRUPT',
          `${what}: layer ${JSON.stringify(layer.name)}, weight ${JSON.stringify(w.originalName ?? w.name)} holds ${values[first]} ` +
            `(${bad} of its ${values.length} values are NaN or infinite, the first at index ${first}). ` +
            'A model with such weights predicts NaN: it was saved from a training run that diverged, or the file is damaged. Use the model from before that run, or re-train it with a lower learning rate.',
        );
      }
    }
  }
}
