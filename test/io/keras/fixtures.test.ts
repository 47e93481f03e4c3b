import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadKerasModel, loadKerasWeights } from '../../../src/io/keras/load.js';
import { exportModel } from '../../../src/io/export-model.js';
import { loadModel } from '../../../src/io/run-dir.js';
import { useBackend } from '../../helpers.js';

beforeAll(useBackend);

const DIR = path.resolve(__dirname, '../../../fixtures/keras');
interface Reference { input_shape: number[]; input: unknown[]; output: unknown[] }
const reference = (name: string): Reference => JSON.parse(readFileSync(path.join(DIR, `${name}.json`), 'utf8'));

/** Largest |graft − Keras| over the fixture's reference batch. */
function maxDiff(model: tfl.LayersModel, ref: Reference): number {
  return tf.tidy(() => {
    const y = (model.predict(tf.tensor((ref.input as number[]).flat(Infinity) as number[], ref.input_shape)) as tf.Tensor).dataSync();
    const want = (ref.output as number[]).flat(Infinity) as number[];
    expect(y.length).toBe(want.length);
    return want.reduce((m, w, i) => Math.max(m, Math.abs(y[i]! - w)), 0);
  });
}

const MODELS = ['mlp', 'cnn', 'functional', 'nested', 'nested_functional'];

describe('Keras files written by real Keras', () => {
  for (const name of MODELS) {
    for (const ext of ['h5', 'keras']) {
      it(`${name}.${ext} predicts as Keras did (within 1e-5)`, async () => {
        const { model, format } = await loadKerasModel(path.join(DIR, `${name}.${ext}`));
        expect(format).toBe(ext === 'h5' ? 'keras-h5' : 'keras-v3');
        expect(maxDiff(model, reference(name))).toBeLessThan(1e-5);
      });
    }
    for (const weights of ['weights.h5', 'legacy-weights.h5']) {
      it(`${name}.${weights} (save_weights) loads onto the architecture`, async () => {
        const { model } = await loadKerasModel(path.join(DIR, `${name}.keras`));
        model.setWeights(model.weights.map((w) => tf.zerosLike(w.read())));
        expect(maxDiff(model, reference(name))).toBeGreaterThan(1e-3); // zeroed: the check below can fail
        await loadKerasWeights(model, path.join(DIR, `${name}.${weights}`));
        expect(maxDiff(model, reference(name))).toBeLessThan(1e-5);
      });
    }
  }

  it('reads a .keras whose weight groups were written with Windows backslashes', async () => {
    const { model } = await loadKerasModel(path.join(DIR, 'windows_paths.keras'));
    expect(maxDiff(model, reference('nested'))).toBeLessThan(1e-5);
  });

  it('refuses Lambda layers, naming the layer and why', async () => {
    for (const ext of ['h5', 'keras']) {
      await expect(loadKerasModel(path.join(DIR, `with_lambda.${ext}`))).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/"times_two_plus_one" is a Lambda.*does not run code/) });
    }
  });

  it('refuses float16 and mixed-precision models with the fix', async () => {
    for (const ext of ['h5', 'keras']) {
      await expect(loadKerasModel(path.join(DIR, `dtypes.${ext}`))).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/dtype policy "float16".*float32/) });
    }
  });

  it('refuses zip-slip entries in a .keras archive', async () => {
    for (const f of ['zip_slip.keras', 'zip_slip_backslash.keras']) {
      await expect(loadKerasModel(path.join(DIR, f))).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/zip-slip/) });
    }
  });

  it('says a weights-only file has no architecture', async () => {
    await expect(loadKerasModel(path.join(DIR, 'mlp.weights.h5'))).rejects.toMatchObject({ message: expect.stringMatching(/weights only/) });
  });

  it('exports to .keras and TF.js and reads both back with identical predictions', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'graft-export-'));
    const { model } = await loadKerasModel(path.join(DIR, 'functional.keras'));
    await exportModel(model, path.join(out, 'f.keras'));
    await exportModel(model, path.join(out, 'tfjs'));
    for (const p of ['f.keras', 'tfjs']) {
      const back = await loadModel(path.join(out, p));
      expect(maxDiff(back.model, reference('functional'))).toBeLessThan(1e-5);
    }
    await expect(exportModel(model, path.join(out, 'f.keras'))).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
  });
});

const SHARED = path.resolve(__dirname, '../../../../shared/fixtures/keras');
const haveShared = existsSync(SHARED);
if (!haveShared) console.log(`skipping shared Keras fixture checks: ${SHARED} is absent (a user's clone)`);

describe.skipIf(!haveShared)('Keras files from other projects', () => {
  it('reads the tf.keras 2.1.6 file that Keras 3 cannot load, and the Keras 3.3.3 files', async () => {
    const old = await loadKerasModel(path.join(SHARED, 'tf-keras-2.1.6-mlp.h5'));
    expect(old.kerasVersion).toBe('2.1.6-tf');
    expect(old.model.outputs[0]!.shape).toEqual([null, 10]);
    for (const f of ['keras-3.3.3-cnn.h5', 'keras-3.3.3-cnn.keras']) {
      const m = await loadKerasModel(path.join(SHARED, f));
      expect(m.kerasVersion).toMatch(/^3\.3\.3/);
    }
  });
});
