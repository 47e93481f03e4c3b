import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildMlp } from '../../src/models/mlp.js';
import { loadTfjsModel, toTfjsFiles } from '../../src/io/tfjs-format.js';
import { loadKerasModel, loadKerasModelFromBytes, loadKerasWeights } from '../../src/io/keras/load.js';
import { toKerasArchive, kerasWeightsH5 } from '../../src/io/keras/export.js';
import { loadModel } from '../../src/io/run-dir.js';
import { liveTensors, rejectsWith, useBackend } from '../helpers.js';

/**
 * A model file holding NaN or ±Infinity weights is refused when it is loaded, naming the layer and
 * the weight, in every format graft reads; a later training run would only have said "lower the
 * learning rate".
 */
beforeAll(useBackend);
const root = mkdtempSync(path.join(tmpdir(), 'graft-nan-weights-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const mlp = (): tfl.LayersModel => buildMlp({ classes: 3, inputShape: [4, 4], hidden: 5, seed: 2 });
const KERAS = path.resolve(__dirname, '../../fixtures/keras');

/** Writes a TF.js model folder and returns the path of model.json. */
async function writeTfjs(model: tfl.LayersModel, name: string): Promise<string> {
  const files = await toTfjsFiles(model, 'test');
  const dir = path.join(root, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'model.json'), files['model.json']);
  writeFileSync(path.join(dir, 'weights.bin'), files['weights.bin']);
  return path.join(dir, 'model.json');
}

/** Sets element `at` of the model's weight named like `pattern` to `value`. */
function poison(model: tfl.LayersModel, pattern: RegExp, at: number, value: number): string {
  const w = model.weights.find((v) => pattern.test(v.originalName))!;
  const values = Float32Array.from(w.read().dataSync());
  values[at] = value;
  w.write(tf.tensor(values, w.shape as number[]));
  return w.originalName;
}

describe('NaN or infinite weights in a source model', () => {
  it('TF.js model.json + weights.bin: a NaN written into the file is refused, naming layer and weight', async () => {
    const model = mlp();
    const file = await writeTfjs(model, 'tfjs-nan');
    // Patch the bytes of weights.bin, as a diverged run elsewhere would have written them.
    const manifest = JSON.parse(readFileSync(file, 'utf8')).weightsManifest[0].weights as Array<{ name: string; shape: number[] }>;
    const count = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
    // The output layer's kernel: the last kernel in the manifest.
    const index = manifest.map((w) => /kernel/.test(w.name)).lastIndexOf(true);
    const target = manifest[index]!;
    const offset = manifest.slice(0, index).reduce((a, w) => a + count(w.shape) * 4, 0);
    const bin = readFileSync(path.join(path.dirname(file), 'weights.bin'));
    bin.writeFloatLE(NaN, offset + 7 * 4);
    writeFileSync(path.join(path.dirname(file), 'weights.bin'), bin);
    const tensors = liveTensors();
    const e = await rejectsWith(loadTfjsModel(file), 'MODEL_CORRUPT');
    const layer = target.name.split('/')[0]!;
    expect(e.message).toContain(`layer "${layer}", weight "${target.name}" holds NaN (1 of its ${count(target.shape)} values are NaN or infinite, the first at index 7)`);
    expect(e.message).toMatch(/diverged, or the file is damaged/);
    expect(liveTensors()).toBe(tensors);
    // The same through loadModel (what transfer --from, evaluate and predict use).
    await expect(loadModel(path.dirname(file))).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringContaining(`layer "${layer}"`) });
    model.dispose();
  });

  it('an untouched model loads (no false alarm), and -Infinity in a bias is caught too', async () => {
    const model = mlp();
    const good = await loadTfjsModel(await writeTfjs(model, 'tfjs-good'));
    good.dispose();
    const name = poison(model, /bias/, 2, -Infinity);
    await expect(loadTfjsModel(await writeTfjs(model, 'tfjs-inf'))).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringContaining(`weight "${name}" holds -Infinity`) });
    model.dispose();
  });

  it('Keras .keras archive and weights-only .weights.h5', async () => {
    const model = mlp();
    const name = poison(model, /kernel/, 0, Infinity);
    const layer = name.split('/')[0]!;
    await expect(loadKerasModelFromBytes(await toKerasArchive(model), 'bad.keras')).rejects.toMatchObject({
      code: 'MODEL_CORRUPT',
      message: expect.stringMatching(new RegExp(`^bad\\.keras: layer "${layer}", weight "[^"]*kernel[^"]*" holds Infinity`)),
    });
    const weights = path.join(root, 'bad.weights.h5');
    writeFileSync(weights, await kerasWeightsH5(model));
    const target = mlp();
    await expect(loadKerasWeights(target, weights)).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringContaining(`layer "${layer}"`) });
    model.dispose();
    target.dispose();
  });

  it('Keras .h5 written by real Keras, with one float of a kernel turned into NaN', async () => {
    const original = readFileSync(path.join(KERAS, 'mlp.h5'));
    const { model } = await loadKerasModel(path.join(KERAS, 'mlp.h5'));
    const kernel = model.layers.flatMap((l) => l.weights.map((w) => ({ layer: l.name, w }))).find((x) => /kernel/.test(x.w.originalName))!;
    // The kernel's first four floats, as stored: unique in the file.
    const head = Buffer.from(Float32Array.from(kernel.w.read().dataSync().slice(0, 4)).buffer);
    const at = original.indexOf(head);
    expect(at).toBeGreaterThan(0);
    expect(original.indexOf(head, at + 1)).toBe(-1);
    const bad = Buffer.from(original);
    bad.writeFloatLE(NaN, at);
    model.dispose();
    const file = path.join(root, 'nan.h5');
    writeFileSync(file, bad);
    await expect(loadKerasModel(file)).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringContaining(`layer "${kernel.layer}", weight "${kernel.w.originalName}" holds NaN`) });
  });
});
