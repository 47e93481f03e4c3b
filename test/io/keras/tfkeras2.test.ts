import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { unzipSync } from 'fflate';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadKerasModel, loadKerasWeights } from '../../../src/io/keras/load.js';
import { loadModel } from '../../../src/io/run-dir.js';
import { evaluate } from '../../../src/evaluate/evaluate.js';
import { prepareTask } from '../../../src/workflows/prepare.js';
import { runCli } from '../../../src/cli/main.js';
import { useBackend } from '../../helpers.js';

/**
 * .keras archives in the layouts tf.keras 2.13.1, 2.14.0 and 2.15.0 wrote, made by
 * fixtures/keras/tfkeras2/make_tfkeras2.py from models trained in Keras 3; the expected outputs
 * are Keras's own predictions, stored by that script.
 */
beforeAll(useBackend);

const DIR = path.resolve(__dirname, '../../../fixtures/keras/tfkeras2');
interface Reference { input_shape: number[]; pixels: number[][]; labels: number[]; output: number[][]; task: string; test_samples: number; test_accuracy: number; files: Record<string, { keras_version: string; separator: string }> }
const reference = (model: string): Reference => JSON.parse(readFileSync(path.join(DIR, `${model}.json`), 'utf8'));

/** Largest |graft − Keras| over the stored batch (pixels / 255, as the script fed Keras). */
function maxDiff(model: tfl.LayersModel, ref: Reference): number {
  return tf.tidy(() => {
    const x = tf.tensor(ref.pixels.flat().map((v) => v / 255), ref.input_shape);
    const y = (model.predict(x) as tf.Tensor).arraySync() as number[][];
    expect(y.length).toBe(ref.output.length);
    return Math.max(...ref.output.flatMap((row, i) => row.map((w, j) => Math.abs(y[i]![j]! - w))));
  });
}

const ARCHIVES = ['mlp', 'cnn'].flatMap((m) => Object.entries(reference(m).files).map(([file, info]) => ({ model: m, file, ...info })));

describe('.keras archives written by tf.keras 2.13–2.15', () => {
  it('covers each version, both models and Windows-joined names', () => {
    expect(ARCHIVES.map((a) => a.file).sort()).toEqual([
      'tf-keras-2.13.1-cnn-windows.keras', 'tf-keras-2.13.1-cnn.keras', 'tf-keras-2.13.1-mlp.keras', 'tf-keras-2.14.0-cnn.keras',
      'tf-keras-2.14.0-mlp-windows.keras', 'tf-keras-2.14.0-mlp.keras', 'tf-keras-2.15.0-cnn.keras', 'tf-keras-2.15.0-mlp.keras',
    ]);
  });

  for (const a of ARCHIVES) {
    it(`${a.file} predicts as Keras did (within 1e-5) and reports Keras ${a.keras_version}`, async () => {
      const before = tf.memory().numTensors;
      const { model, kerasVersion, format } = await loadKerasModel(path.join(DIR, a.file));
      expect(format).toBe('keras-v3');
      expect(kerasVersion).toBe(a.keras_version);
      expect(maxDiff(model, reference(a.model))).toBeLessThan(1e-5);
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('loads the weights file alone (save_weights) onto the architecture', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'graft-tfkeras2-'));
    for (const version of ['2.13.1', '2.14.0']) {
      const weights = path.join(dir, `${version}.weights.h5`);
      writeFileSync(weights, unzipSync(readFileSync(path.join(DIR, `tf-keras-${version}-cnn.keras`)))['model.weights.h5']!);
      const { model } = await loadKerasModel(path.join(DIR, 'tf-keras-2.15.0-cnn.keras'));
      const zeros = model.weights.map((w) => tf.zerosLike(w.read()));
      model.setWeights(zeros);
      tf.dispose(zeros);
      expect(maxDiff(model, reference('cnn'))).toBeGreaterThan(1e-2); // zeroed: the check below can fail
      await loadKerasWeights(model, weights);
      expect(maxDiff(model, reference('cnn'))).toBeLessThan(1e-5);
      model.dispose();
      // Opened as a model, it is recognised as a weights file rather than called unreadable.
      await expect(loadKerasModel(weights)).rejects.toMatchObject({ message: expect.stringMatching(/holds weights only/) });
    }
  });

  it('names the layer whose group is missing from a damaged archive', async () => {
    await expect(loadKerasModel(path.join(DIR, 'tf-keras-2.14.0-cnn-missing-group.keras'))).rejects.toMatchObject({
      code: 'MODEL_CORRUPT',
      message: expect.stringMatching(/layer "batch_normalization_1" \(BatchNormalization\).*_layer_checkpoint_dependencies\/sequential\/_layer_checkpoint_dependencies\/batch_normalization\b.*conv2d, conv2d_1, re_lu/),
    });
  });

  it('names what it found when the weights file has neither layout', async () => {
    const h5 = Buffer.from(unzipSync(readFileSync(path.join(DIR, 'tf-keras-2.14.0-mlp.keras')))['model.weights.h5']!);
    // Same length, so the HDF5 heap stays valid: the file now has an unknown group where the layers were.
    const renamed = Buffer.from(h5.toString('latin1').replaceAll('_layer_checkpoint_dependencies', '_layer_checkpoint_dependencieX'), 'latin1');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'graft-tfkeras2-')), 'x.weights.h5');
    writeFileSync(file, renamed);
    const { model } = await loadKerasModel(path.join(DIR, 'tf-keras-2.15.0-mlp.keras'));
    await expect(loadKerasWeights(model, file)).rejects.toMatchObject({
      code: 'MODEL_CORRUPT',
      message: expect.stringMatching(/holds no Keras weights: expected .*"_layer_checkpoint_dependencies".*its root holds "_layer_checkpoint_dependencieX", "metrics", "optimizer", "vars"/),
    });
    model.dispose();
  });

  it('graft inspect prints the Keras version that wrote the file', async () => {
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      expect(await runCli(['inspect', path.join(DIR, 'tf-keras-2.13.1-cnn.keras'), '--json', '--backend', 'cpu'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const j = JSON.parse(out);
    expect(j).toMatchObject({ format: 'keras-v3', kerasVersion: '2.13.1' });
    expect(j.layers.map((l: { name: string }) => l.name)).toContain('sequential');
  });
});

const DATA = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(DATA, 't10k-labels-idx1-ubyte.gz')) || existsSync(path.join(DATA, 't10k-labels-idx1-ubyte'));
if (!haveData) console.log(`skipping tf.keras 2 accuracy and transfer tests: no Fashion-MNIST in ${DATA}`);

describe.skipIf(!haveData)('tf.keras 2 archives on the real Fashion-MNIST test set', () => {
  it('score the accuracy Keras measured (±0.001)', async () => {
    for (const file of ['tf-keras-2.13.1-mlp.keras', 'tf-keras-2.14.0-cnn.keras']) {
      const ref = reference(file.includes('mlp') ? 'mlp' : 'cnn');
      const data = await prepareTask(ref.task, { dataDir: DATA, download: false });
      const { model } = await loadModel(path.join(DIR, file));
      expect(data.test.y.length).toBe(ref.test_samples);
      expect(Math.abs(evaluate(model, data.test).accuracy - ref.test_accuracy), file).toBeLessThanOrEqual(0.001);
      model.dispose();
    }
  }, 120_000);

  it('graft transfer --from a tf.keras 2.13 archive trains T-shirt vs sandal', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'graft-tfkeras2-')), 'b');
    const code = await runCli(['transfer', '--from', path.join(DIR, 'tf-keras-2.13.1-mlp.keras'), '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--frozen-epochs', '2', '--frozen-lr', '0.05', '--epochs', '1', '--per-class', '200', '--data-dir', DATA, '--offline', '--backend', 'cpu', '--json', '--out', out]);
    expect(code).toBe(0);
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8'));
    expect(run.metrics.test.accuracy).toBeGreaterThan(0.95);
  }, 180_000);
});
