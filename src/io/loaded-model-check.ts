import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError, describeValue } from '../errors.js';

/**
 * Layer settings that are counts or sizes, and the largest value accepted: counts are also bounded
 * by the weights that must match them; window sizes far past any image are damage (a dilation of
 * 2^32 loaded, then failed inside the convolution kernel).
 */
const SIZE_LIMITS: Record<string, number> = { units: 2 ** 24, filters: 2 ** 24, depthMultiplier: 2 ** 16, kernelSize: 2 ** 15, strides: 2 ** 15, poolSize: 2 ** 15, dilationRate: 2 ** 15 };

/**
 * Checks a model TF.js built from a file (TF.js or Keras). TF.js builds layers from whatever the
 * topology holds: an input shape [{}, 8, 8, 1], or [null, Infinity, 8] from 1e400 in the file; a
 * convolution with stride 0 or a dilation of 2^32, which then fails inside a kernel (the wasm
 * backend only logs it and computes garbage). Shapes and sizes must be whole numbers in range and
 * rates fractions, checked once at load rather than discovered in training.
 */
export function checkLoadedModel(model: tfl.LayersModel, what: string): void {
  const badShape = [...model.inputs, ...model.outputs].map((t) => t.shape).find((shape) => !shape.every((d) => d === null || (Number.isSafeInteger(d) && d > 0)));
  if (badShape) {
    throw new GraftError('MODEL_CORRUPT', `${what}: the model's input or output shape is [${badShape.join(', ')}]; each dimension must be a whole number ≥ 1 (or null for the batch). The topology is damaged.`);
  }
  for (const layer of model.layers) {
    if (layer instanceof tfl.LayersModel) {
      checkLoadedModel(layer, what);
      continue;
    }
    const config = layer.getConfig() as Record<string, unknown>;
    const bad = (key: string, expected: string): GraftError =>
      new GraftError('MODEL_CORRUPT', `${what}: layer ${JSON.stringify(layer.name)} has ${key} ${describeValue(config[key])}; it must be ${expected}. The model's topology is damaged.`);
    for (const [key, max] of Object.entries(SIZE_LIMITS)) {
      const v = config[key];
      if (v === undefined || v === null) continue;
      const values = Array.isArray(v) ? v : [v];
      if (values.length === 0 || !values.every((x) => Number.isInteger(x) && (x as number) >= 1 && (x as number) <= max)) throw bad(key, `a whole number from 1 to ${max}, or a list of them`);
    }
    const rate = config.rate;
    if (rate !== undefined && !(typeof rate === 'number' && rate >= 0 && rate < 1)) throw bad('rate', 'a number in [0, 1)');
    // A ReLU cap of 0, NaN or 1e-50 loads; clip then throws, or the wasm kernel logs a failure and returns garbage.
    const maxValue = config.maxValue;
    if (maxValue !== undefined && maxValue !== null && !(typeof maxValue === 'number' && maxValue >= 1e-6 && Number.isFinite(maxValue))) throw bad('maxValue', 'null or a number ≥ 1e-6');
    // An axis outside the input's dimensions (4294967296 loaded) fails only at the first prediction.
    if (config.axis !== undefined && config.axis !== null) {
      const rank = layer.inboundNodes[0]?.inputTensors[0]?.shape.length ?? 32;
      const axes = Array.isArray(config.axis) ? config.axis : [config.axis];
      if (!axes.every((a) => Number.isInteger(a) && (a as number) >= -rank && (a as number) < rank)) throw bad('axis', `a whole number from ${-rank} to ${rank - 1} (the input has ${rank} dimensions)`);
    }
    // graft feeds float32 pixels; TF.js accepted dtype -1 or [1, 2] here, and the model failed at its first prediction.
    if (config.dtype !== undefined && config.dtype !== null && config.dtype !== 'float32') throw bad('dtype', '"float32" (graft trains float32 models only)');
  }
}
