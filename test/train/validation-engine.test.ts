import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import type { Dataset } from '../../src/data/dataset.js';
import { fit } from '../../src/train/fit.js';
import * as inferEngine from '../../src/train/infer-engine.js';
import { lossAndAccuracy } from '../../src/train/infer.js';
import { describeOutput } from '../../src/train/loss.js';
import { noiseImages, useBackend } from '../helpers.js';

beforeAll(useBackend);

/**
 * Validation during a fit on onnxruntime (lossAndAccuracyOn): the graph ends before the output's
 * softmax/sigmoid, so the loss comes from logits as TF.js's does (a confidently wrong sample costs
 * its whole logit, not a clipped probability), label smoothing included; a fit training on
 * onnxruntime validates there, a TF.js fit on TF.js.
 */
const ort = await loadOnnxRuntime();
const missing = typeof ort === 'string' ? ort : undefined;
if (missing) console.log(`validation-on-onnxruntime tests skipped: ${missing}`);

const SIDE = 10;

function images(n: number, classes: number, seed: number): Dataset {
  return noiseImages(n, classes, seed, SIDE);
}

function cnn(units: number, activation: 'softmax' | 'sigmoid' | 'linear', kernelScale = 1): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [SIDE, SIDE, 3], filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
      tfl.layers.batchNormalization(),
      tfl.layers.reLU(),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units, activation, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  if (kernelScale !== 1) {
    const dense = model.layers[model.layers.length - 1]!;
    const [k, b] = dense.getWeights();
    dense.setWeights([tf.mul(k!, kernelScale), b!]);
  }
  return model;
}

function mlp(): tfl.LayersModel {
  return tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [SIDE, SIDE, 3] }), tfl.layers.dense({ units: 8, activation: 'relu' }), tfl.layers.dense({ units: 3, activation: 'softmax' })] });
}

function close(a: number, b: number, rel = 1e-5): void {
  expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(b)));
}

describe.skipIf(missing !== undefined)('validation on onnxruntime', () => {
  for (const [units, activation, classes, smoothing] of [[3, 'softmax', 3, 0], [1, 'sigmoid', 2, 0], [3, 'softmax', 3, 0.1], [1, 'sigmoid', 2, 0.2], [4, 'linear', 4, 0]] as const) {
    it(`gives TF.js's loss, accuracy and probabilities: ${units}-unit ${activation} head, label smoothing ${smoothing}`, async () => {
      const model = cnn(units, activation);
      const head = describeOutput(model);
      const data = images(30, classes, units + 7);
      const a = lossAndAccuracy(model, head, data, { labelSmoothing: smoothing, probabilities: true });
      const b = await inferEngine.lossAndAccuracyOn(model, head, data, { labelSmoothing: smoothing, probabilities: true }, 'onnxruntime');
      expect(b.engine).toEqual({ engine: 'onnxruntime' });
      close(b.result.loss, a.loss);
      expect(b.result.accuracy).toBe(a.accuracy);
      expect(b.result.probabilities!.length).toBe(a.probabilities!.length);
      b.result.probabilities!.forEach((p, i) => expect(Math.abs(p - a.probabilities![i]!)).toBeLessThan(1e-5));
      model.dispose();
    });
  }

  it('takes the loss from logits: confidently wrong sigmoid outputs cost their whole logit', async () => {
    // Logits near ±40: sigmoid rounds to exactly 0 or 1 in float32, so a loss from probabilities
    // would be clipped (about 16 a wrong sample) where TF.js's loss from logits is about 40.
    const model = cnn(1, 'sigmoid', 3000);
    const head = describeOutput(model);
    const data = images(20, 2, 3);
    const a = lossAndAccuracy(model, head, data);
    const b = await inferEngine.lossAndAccuracyOn(model, head, data, {}, 'onnxruntime');
    expect(b.engine.engine).toBe('onnxruntime');
    expect(a.loss).toBeGreaterThan(17);
    close(b.result.loss, a.loss, 1e-4);
    model.dispose();
  });

  it('runs on TF.js, saying why, when TF.js is asked for', async () => {
    const model = cnn(3, 'softmax');
    const data = images(12, 3, 1);
    const b = await inferEngine.lossAndAccuracyOn(model, describeOutput(model), data, {}, 'tfjs');
    expect(b.engine).toEqual({ engine: 'tfjs', reason: 'TF.js was asked for' });
    close(b.result.loss, lossAndAccuracy(model, describeOutput(model), data).loss, 1e-6);
    model.dispose();
  });

  it('is where a fit training on onnxruntime validates; a TF.js fit validates on TF.js', async () => {
    const spy = vi.spyOn(inferEngine, 'lossAndAccuracyOn');
    const train = images(24, 3, 11);
    const validation = images(12, 3, 12);
    const run = async (model: tfl.LayersModel, engine: 'onnxruntime' | 'tfjs'): Promise<{ calls: number; engine: string | undefined; valLoss: number | undefined }> => {
      spy.mockClear();
      const r = await fit(model, train, { epochs: 2, batchSize: 8, optimizer: { name: 'adam', learningRate: 0.01 }, validation, engine, seed: 4 });
      const last = r.history[r.history.length - 1]!;
      // The recorded validation loss is the model's after training, whichever engine scored it.
      close(last.valLoss!, lossAndAccuracy(model, describeOutput(model), validation).loss, 1e-5);
      return { calls: spy.mock.calls.length, engine: r.engine?.engine, valLoss: last.valLoss };
    };
    const conv = await run(cnn(3, 'softmax'), 'onnxruntime');
    expect(conv.engine).toBe('onnxruntime');
    expect(conv.calls).toBe(2);
    const dense = await run(mlp(), 'onnxruntime');
    expect(dense.engine).toBe('onnxruntime');
    expect(dense.calls).toBe(2);
    const tfjs = await run(cnn(3, 'softmax'), 'tfjs');
    expect(tfjs.engine).toBe('tfjs');
    expect(tfjs.calls).toBe(0);
    spy.mockRestore();
  });
});
