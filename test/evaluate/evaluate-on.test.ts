import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../src/engine/rng.js';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import * as forwardGraph from '../../src/engine/onnx/forward/forward-graph.js';
import { evaluateOn, evaluateWithProbabilities } from '../../src/evaluate/evaluate.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { SampleRows } from '../../src/data/rows.js';
import { disposeModel } from '../../src/models/dispose.js';
import { noiseImages, useBackend } from '../helpers.js';

beforeAll(useBackend);

/**
 * Scoring on onnxruntime (evaluateOn): the same evaluation as TF.js's to float32 rounding, for
 * softmax, sigmoid and logit heads and for images streamed from disk, and TF.js with the reason
 * whenever onnxruntime is not used.
 */
const ort = await loadOnnxRuntime();
const missing = typeof ort === 'string' ? ort : undefined;
if (missing) console.log(`evaluateOn's onnxruntime tests skipped: ${missing}`);

const SIDE = 12;

function images(n: number, classes: number, seed: number): Dataset {
  return noiseImages(n, classes, seed, SIDE);
}

/** Conv, BatchNorm on random moving statistics, ReLU, pooling, Dense: a small CNN with the given output. */
function cnn(units: number, activation: 'softmax' | 'sigmoid' | 'linear'): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [SIDE, SIDE, 3], filters: 6, kernelSize: 3, strides: 2, padding: 'same', seed: 1 } as never),
      tfl.layers.batchNormalization(),
      tfl.layers.reLU(),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units, activation, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  const rng = new Rng(5);
  for (const w of model.weights) {
    if (!/moving_(mean|variance)$/.test(w.originalName)) continue;
    const variance = w.originalName.endsWith('variance');
    w.write(tf.tensor(Float32Array.from({ length: w.shape[0]! }, () => (variance ? 0.3 + rng.next() : rng.next() - 0.5)), w.shape as number[]));
  }
  return model;
}

/** `data`'s samples as rows read on demand (as a folder streamed from disk), counting the reads. */
function streamed(data: Dataset): { data: Dataset; reads: () => number } {
  const size = SIDE * SIDE * 3;
  let reads = 0;
  const rows = (order: number[]): SampleRows => ({
    count: order.length,
    size,
    read(indices, start, end, out) {
      reads++;
      for (let i = start; i < end; i++) out.set(data.x.subarray(order[indices[i]!]! * size, (order[indices[i]!]! + 1) * size), (i - start) * size);
      return out.subarray(0, (end - start) * size);
    },
    select: (indices) => rows(Array.from(indices, (i) => order[i]!)),
    dividedBy: () => { throw new Error('not used'); },
  });
  return { data: { ...data, x: new Float32Array(0), rows: rows(Array.from(data.y, (_, i) => i)) }, reads: () => reads };
}

describe.skipIf(missing !== undefined)('evaluateOn', () => {
  for (const [units, activation, classes] of [[3, 'softmax', 3], [1, 'sigmoid', 2], [4, 'linear', 4]] as const) {
    it(`scores a ${units}-unit ${activation} head on onnxruntime as TF.js does`, async () => {
      const model = cnn(units, activation);
      const data = images(40, classes, units);
      const a = evaluateWithProbabilities(model, data);
      const b = await evaluateOn(model, data, 'onnxruntime');
      expect(b.engine).toEqual({ engine: 'onnxruntime' });
      expect(b.probabilities.length).toBe(40 * classes);
      let worst = 0;
      for (let i = 0; i < a.probabilities.length; i++) worst = Math.max(worst, Math.abs(a.probabilities[i]! - b.probabilities[i]!));
      expect(worst).toBeLessThan(1e-5);
      // Not a constant: the probabilities differ between samples.
      expect(Math.max(...b.probabilities) - Math.min(...b.probabilities)).toBeGreaterThan(1e-3);
      expect(b.evaluation.loss).toBeCloseTo(a.evaluation.loss, 5);
      expect(b.evaluation.confusion).toEqual(a.evaluation.confusion);
      disposeModel(model);
    });
  }

  it('streams images read from disk in chunks, with the same scores', async () => {
    const model = cnn(3, 'softmax');
    const data = images(4300, 3, 9);
    const { data: rows, reads } = streamed(data);
    const a = evaluateWithProbabilities(model, data);
    const b = await evaluateOn(model, rows, 'onnxruntime');
    expect(b.engine.engine).toBe('onnxruntime');
    // More than one chunk of 8 inference batches (512 samples each here).
    expect(reads()).toBeGreaterThan(1);
    let worst = 0;
    for (let i = 0; i < a.probabilities.length; i++) worst = Math.max(worst, Math.abs(a.probabilities[i]! - b.probabilities[i]!));
    expect(worst).toBeLessThan(1e-5);
    expect(b.evaluation.accuracy).toBe(a.evaluation.accuracy);
    disposeModel(model);
  });

  it('runs on TF.js, saying why, when TF.js is asked for or the model has no onnxruntime translation', async () => {
    const model = cnn(3, 'softmax');
    const data = images(20, 3, 4);
    const a = evaluateWithProbabilities(model, data);
    const asked = await evaluateOn(model, data, 'tfjs');
    expect(asked.engine).toEqual({ engine: 'tfjs', reason: 'TF.js was asked for' });
    expect(Array.from(asked.probabilities)).toEqual(Array.from(a.probabilities));
    const spy = vi.spyOn(forwardGraph, 'buildForwardGraph').mockReturnValue('layer X has no translation');
    try {
      const refused = await evaluateOn(model, data, 'onnxruntime');
      expect(refused.engine).toEqual({ engine: 'tfjs', reason: 'layer X has no translation' });
      expect(Array.from(refused.probabilities)).toEqual(Array.from(a.probabilities));
    } finally {
      spy.mockRestore();
    }
    disposeModel(model);
  });
});
