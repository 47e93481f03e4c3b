import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKerasModel, loadKerasWeights } from '../../src/io/keras/load.js';
import { loadKerasModelFromBytes, loadKerasWeightsFromBytes } from '../../src/io/keras/load-bytes.js';
import { loadOnnxSource } from '../../src/io/onnx/source.js';
import { loadOnnxSourceFromBytes } from '../../src/io/onnx/source-bytes.js';
import { Rng } from '../../src/engine/rng.js';
import { rejectsWith, useBackend } from '../helpers.js';

beforeAll(useBackend);

/**
 * The in-memory loaders (what the browser entry exports) against the file loaders on the same
 * files: the same models, so the same predictions, bit for bit.
 */
const KERAS = path.resolve(import.meta.dirname, '../../fixtures/keras');
const ONNX = path.resolve(import.meta.dirname, '../../fixtures/onnx');
const bytes = (file: string): Uint8Array => new Uint8Array(readFileSync(file));

interface Reference { input_shape: number[]; input: unknown[]; output: unknown[] }
const reference = (name: string): Reference => JSON.parse(readFileSync(path.join(KERAS, `${name}.json`), 'utf8')) as Reference;

/** Keras's reference input for a fixture model (fixtures/keras/<name>.json). */
function referenceInput(name: string): tf.Tensor {
  const ref = reference(name);
  return tf.tensor((ref.input as number[]).flat(Infinity) as number[], ref.input_shape);
}

/** Largest |graft − Keras| over Keras's own outputs for the reference input. */
function maxDiffFromKeras(got: Float32Array, name: string): number {
  const want = (reference(name).output as number[]).flat(Infinity) as number[];
  expect(got.length).toBe(want.length);
  return want.reduce((m, w, i) => Math.max(m, Math.abs(got[i]! - w)), 0);
}

function predict(model: tfl.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
}

describe('Keras models from bytes', () => {
  for (const name of ['mlp', 'cnn', 'functional']) {
    for (const ext of ['h5', 'keras']) {
      it(`${name}.${ext}: the same model as from its file`, async () => {
        const file = path.join(KERAS, `${name}.${ext}`);
        const fromFile = await loadKerasModel(file);
        const fromBytes = await loadKerasModelFromBytes(bytes(file), `${name}.${ext}`);
        expect(fromBytes.format).toBe(fromFile.format);
        expect(fromBytes.kerasVersion).toBe(fromFile.kerasVersion);
        const x = referenceInput(name);
        const y = predict(fromBytes.model, x);
        expect(y).toEqual(predict(fromFile.model, x));
        expect(maxDiffFromKeras(y, name)).toBeLessThan(1e-5); // and both are what Keras computed
        x.dispose();
        fromFile.model.dispose();
        fromBytes.model.dispose();
      });
    }
  }

  for (const weights of ['weights.h5', 'legacy-weights.h5']) {
    it(`cnn.${weights} (weights only, as keras.applications' *_no_top.h5): the same weights as from its file`, async () => {
      const file = path.join(KERAS, `cnn.${weights}`);
      const { model: a } = await loadKerasModel(path.join(KERAS, 'cnn.keras'));
      const { model: b } = await loadKerasModel(path.join(KERAS, 'cnn.keras'));
      const x = referenceInput('cnn');
      const zero = (m: tfl.LayersModel): void => m.setWeights(m.weights.map((w) => tf.tidy(() => tf.zerosLike(w.read()))));
      zero(a);
      zero(b);
      const zeroed = predict(b, x);
      await loadKerasWeights(a, file);
      await loadKerasWeightsFromBytes(b, bytes(file), `cnn.${weights}`);
      expect(predict(b, x)).not.toEqual(zeroed); // the weights arrived: the check below can fail
      expect(predict(b, x)).toEqual(predict(a, x));
      expect(maxDiffFromKeras(predict(b, x), 'cnn')).toBeLessThan(1e-5);
      x.dispose();
      a.dispose();
      b.dispose();
    });
  }

  it('weights-only bytes are no model: the error says to load them onto a model', async () => {
    const e = await rejectsWith(loadKerasModelFromBytes(bytes(path.join(KERAS, 'cnn.weights.h5')), 'dropped.weights.h5'), 'BAD_ARGUMENT');
    expect(e.message).toContain('dropped.weights.h5 holds weights only');
  });
});

describe('ONNX sources from bytes', () => {
  it('convnet: the same source as from its file (info, layers, features)', async () => {
    const file = path.join(ONNX, 'convnet.torchscript-op17.keep-bn.onnx');
    const options = { preprocess: 'imagenet' };
    const fromFile = await loadOnnxSource(file, options);
    const fromBytes = await loadOnnxSourceFromBytes(bytes(file), path.basename(file), options);
    expect(fromBytes.info).toEqual(fromFile.info);
    expect(fromBytes.model.layers.map((l) => l.name)).toEqual(fromFile.model.layers.map((l) => l.name));
    const rng = new Rng(7);
    const shape = [2, ...fromFile.info.imageShape];
    const x = tf.tensor(Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => rng.next()), shape);
    expect(predict(fromBytes.model, x)).toEqual(predict(fromFile.model, x));
    x.dispose();
    fromFile.model.dispose();
    fromBytes.model.dispose();
  });

  it('a model with external data is refused from bytes, saying to re-export it whole', async () => {
    // test/io/onnx/fixtures/mlp.onnx keeps its weights in mlp.weights beside it.
    const e = await rejectsWith(loadOnnxSourceFromBytes(bytes(path.resolve(import.meta.dirname, 'onnx/fixtures/mlp.onnx')), 'mlp.onnx', { preprocess: 'scale' }), 'BAD_ARGUMENT');
    expect(e.message).toMatch(/^mlp\.onnx: \d+ tensors \(tensor ".+" first\) are stored in external data \("mlp\.weights"\), which bytes alone cannot reach\. Re-export the model with the weights inside/);
  });
});
