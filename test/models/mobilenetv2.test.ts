import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { buildMobileNetV2, makeDivisible, type MobileNetV2Alpha } from '../../src/models/mobilenetv2.js';
import { loadKerasModel, loadKerasWeights } from '../../src/io/keras/load.js';
import { loadModel } from '../../src/io/run-dir.js';
import { disposeModel } from '../../src/models/dispose.js';
import { liveTensors, thrown, useBackend } from '../helpers.js';

beforeAll(useBackend);

const FIXTURES = path.resolve(__dirname, '../../fixtures/keras');
const SCRIPT = path.join(FIXTURES, 'make_mobilenetv2_reference.py');
// The alpha 0.35 reference is committed (2 MB); the wider ones are written by Keras at test time.
const PYTHON = process.env.GRAFT_KERAS_PYTHON ?? '/tmp/peers/bin/python';
const hasKeras = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import keras'], { timeout: 120_000 }).status === 0;
if (!hasKeras) console.log(`skipping the MobileNetV2-vs-Keras check for alphas 0.5, 0.75, 1.0 and the legacy .h5: no Python with Keras at ${PYTHON} (set GRAFT_KERAS_PYTHON; see fixtures/keras/make_mobilenetv2_reference.py)`);
const TEACHABLE = path.resolve(__dirname, '../../../shared/fixtures/teachable-machine/model.json');
const haveTeachable = existsSync(TEACHABLE);
if (!haveTeachable) console.log(`skipping the Teachable Machine MobileNetV2 check: ${TEACHABLE} is absent (a user's clone)`);

/** keras.applications.MobileNetV2(include_top=False, weights=None, alpha).count_params(), Keras 3.15. */
const KERAS_PARAMS: Record<MobileNetV2Alpha, number> = { 0.35: 410_208, 0.5: 706_224, 0.75: 1_382_064, 1.0: 2_257_984 };

interface Reference {
  alpha: number;
  params: number;
  layers: Array<[string, string]>;
  input_shape: number[];
  input: number[];
  output: number[];
}

function readReference(file: string): Reference {
  return JSON.parse(readFileSync(file, 'utf8')) as Reference;
}

/** max |graft − Keras| / max |Keras| over the reference input. */
function relativeError(model: tfl.LayersModel, ref: Reference): number {
  const scale = Math.max(...ref.output.map(Math.abs));
  return tf.tidy(() => {
    const y = (model.predict(tf.tensor(ref.input, ref.input_shape)) as tf.Tensor).dataSync();
    expect(y.length).toBe(ref.output.length);
    return ref.output.reduce((m, v, i) => Math.max(m, Math.abs(y[i]! - v)), 0) / scale;
  });
}

describe('MobileNetV2', () => {
  const committed = readReference(path.join(FIXTURES, 'mobilenetv2-0.35.json'));

  it("has Keras's layers, in Keras's order, and Keras's parameter count for every alpha", () => {
    const before = liveTensors();
    for (const alpha of [0.35, 0.5, 0.75, 1.0] as const) {
      const m = buildMobileNetV2({ alpha, inputShape: [32, 32, 3] });
      // Layer names do not depend on alpha; Keras's list comes from the committed reference.
      expect(m.layers.map((l) => [l.name, l.getClassName()]), `alpha ${alpha}`).toEqual(committed.layers);
      expect(m.layers).toHaveLength(154);
      expect(m.countParams(), `alpha ${alpha}`).toBe(KERAS_PARAMS[alpha]);
      expect(m.outputs[0]!.shape).toEqual([null, 1, 1, 1280]);
      expect(m.name).toBe(`mobilenetv2_${alpha.toFixed(2)}_32`);
      disposeModel(m);
    }
    expect(committed.params).toBe(KERAS_PARAMS[0.35]);
    expect(liveTensors()).toBe(before);
  });

  it("pads stride-2 blocks as Keras's correct_pad does, for odd and even sides", () => {
    const before = liveTensors();
    const m = buildMobileNetV2({ alpha: 0.35, inputShape: [33, 45, 3], seed: 1 });
    const pads = m.layers.filter((l) => l.getClassName() === 'ZeroPadding2D').map((l) => [l.name, l.outputShape]);
    // Keras 3.15 with input_shape=(33, 45, 3).
    expect(pads).toEqual([
      ['block_1_pad', [null, 19, 25, 48]],
      ['block_3_pad', [null, 11, 13, 48]],
      ['block_6_pad', [null, 7, 7, 96]],
      ['block_13_pad', [null, 5, 5, 192]],
    ]);
    expect(m.outputs[0]!.shape).toEqual([null, 2, 2, 1280]);
    disposeModel(m);
    expect(liveTensors()).toBe(before);
  });

  it("rounds channels as Keras's _make_divisible does", () => {
    expect([8.4, 11.2, 16, 5, 12, 20].map((v) => makeDivisible(v))).toEqual([8, 16, 16, 8, 16, 24]);
    expect(makeDivisible(0.35 * 32)).toBe(16);
  });

  it('refuses bad input shapes and widths, saying what it received', () => {
    expect(thrown(() => buildMobileNetV2({ inputShape: [31, 64, 3] })).message).toMatch(/at least 32×32; received input shape \[31, 64, 3\]/);
    expect(thrown(() => buildMobileNetV2({ inputShape: [64, 64, 1] })).code).toBe('BAD_ARGUMENT');
    expect(thrown(() => buildMobileNetV2({ inputShape: [64.5, 64, 3] })).code).toBe('BAD_ARGUMENT');
    expect(thrown(() => buildMobileNetV2({ alpha: 0.6 as MobileNetV2Alpha })).message).toMatch(/alpha must be one of 0\.35, 0\.5, 0\.75, 1.*received alpha=0\.6/);
  });

  it("loads the committed Keras weights (alpha 0.35) and reproduces Keras's features (within 1e-4 relative)", async () => {
    const before = liveTensors();
    const m = buildMobileNetV2({ alpha: 0.35, inputShape: [32, 32, 3], seed: 5 });
    await loadKerasWeights(m, path.join(FIXTURES, 'mobilenetv2-0.35.weights.h5'));
    expect(relativeError(m, committed)).toBeLessThan(1e-4);
    // The check has teeth: one BatchNorm's moving statistics back at their fresh values is caught.
    const bn = m.getLayer('block_5_project_BN');
    const [gamma, beta, mean, variance] = bn.getWeights();
    const fresh = [tf.zerosLike(mean!), tf.onesLike(variance!)];
    bn.setWeights([gamma!, beta!, ...fresh]);
    tf.dispose(fresh);
    expect(relativeError(m, committed)).toBeGreaterThan(1e-3);
    disposeModel(m);
    expect(liveTensors()).toBe(before);
  });

  it.skipIf(!hasKeras)("loads Keras's weight files for every alpha, by order and by name, and reproduces Keras's features (within 1e-4 relative)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'graft-mobilenetv2-'));
    const r = spawnSync(PYTHON, [SCRIPT, dir], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const before = liveTensors();
    for (const alpha of [0.35, 0.5, 0.75, 1.0] as const) {
      const tag = String(alpha);
      const ref = readReference(path.join(dir, `mobilenetv2-${tag}.json`));
      expect(ref.params).toBe(KERAS_PARAMS[alpha]);
      const keras3 = buildMobileNetV2({ alpha, inputShape: [32, 32, 3] });
      await loadKerasWeights(keras3, path.join(dir, `mobilenetv2-${tag}.weights.h5`));
      expect(relativeError(keras3, ref), `alpha ${alpha}, .weights.h5`).toBeLessThan(1e-4);
      const legacy = await loadKerasModel(path.join(dir, `mobilenetv2-${tag}-full.h5`));
      expect(relativeError(legacy.model, ref), `alpha ${alpha}, legacy .h5 as loaded`).toBeLessThan(1e-4);
      const byName = buildMobileNetV2({ alpha, inputShape: [32, 32, 3], seed: 3 });
      byName.setWeights(legacy.model.getWeights());
      expect(relativeError(byName, ref), `alpha ${alpha}, legacy .h5 copied onto the builder`).toBeLessThan(1e-4);
      for (const m of [keras3, legacy.model, byName]) disposeModel(m);
    }
    expect(liveTensors()).toBe(before);
  });

  it.skipIf(!haveTeachable)("matches the MobileNetV2 inside a Teachable Machine export (tfjs-layers 1.7.4), layer for layer and in its features", async () => {
    const before = liveTensors();
    const { model } = await loadModel(TEACHABLE);
    // TF.js 1.x nests the base twice: Sequential > [Sequential > [Model 'model2', pooling], head].
    const base = (model.layers[0] as tfl.LayersModel).layers[0] as tfl.LayersModel;
    expect(base.getClassName()).toBe('Model');
    const ours = buildMobileNetV2({ alpha: 0.35, seed: 2 });
    const theirs = base.layers.map((l) => l.name);
    const mine = ours.layers.map((l) => l.name);
    // Keras ≤ 2.2 padded Conv1 explicitly (Conv1_pad then a valid conv); Keras 3 uses 'same', which
    // pads identically for a stride of 2 on any input size. The input layers' names are automatic.
    expect(theirs.filter((n) => !mine.includes(n))).toEqual(['input_1', 'Conv1_pad']);
    expect(mine.filter((n) => !theirs.includes(n))).toEqual(['input_layer']);
    expect(theirs.filter((n) => mine.includes(n))).toEqual(mine.slice(1));
    expect(theirs.at(-1)).toBe('out_relu');
    expect(base.countParams()).toBe(KERAS_PARAMS[0.35]);
    // Its ImageNet weights, copied by layer name, give the same features.
    for (const layer of ours.layers) if (layer.weights.length > 0) layer.setWeights(base.getLayer(layer.name).getWeights());
    const err = tf.tidy(() => {
      const x = tf.randomUniform([1, 224, 224, 3], -1, 1, 'float32', 11);
      const want = base.predict(x) as tf.Tensor;
      const got = ours.predict(x) as tf.Tensor;
      return tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]! / tf.max(tf.abs(want)).dataSync()[0]!;
    });
    expect(err).toBeLessThan(1e-5);
    disposeModel(ours);
    disposeModel(model);
    expect(liveTensors()).toBe(before);
  });
});
