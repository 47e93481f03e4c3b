import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { buildVgg16 } from '../../src/models/vgg16.js';
import { loadKerasWeights } from '../../src/io/keras/load.js';
import { loadKerasModel } from '../../src/io/keras/load.js';
import { useBackend } from '../helpers.js';

beforeAll(useBackend);

// Keras writes the reference at test time (the weights are 58 MB, too large to commit).
const PYTHON = process.env.GRAFT_KERAS_PYTHON ?? '/tmp/peers/bin/python';
const hasKeras = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import keras'], { timeout: 120_000 }).status === 0;
if (!hasKeras) console.log(`skipping the VGG16-vs-Keras check: no Python with Keras at ${PYTHON} (set GRAFT_KERAS_PYTHON; see fixtures/keras/make_vgg16_reference.py)`);

describe('VGG16', () => {
  it("has Keras's layer names and parameter count", () => {
    const m = buildVgg16({ inputShape: [32, 32, 3] });
    expect(m.layers.map((l) => l.name).slice(1, 4)).toEqual(['block1_conv1', 'block1_conv2', 'block1_pool']);
    expect(m.layers.at(-1)!.name).toBe('block5_pool');
    expect(m.countParams()).toBe(14_714_688); // keras.applications.VGG16(include_top=False)
    expect(m.outputs[0]!.shape).toEqual([null, 1, 1, 512]);
    expect(() => buildVgg16({ inputShape: [16, 16, 3] })).toThrow(/at least 32×32/);
  });

  it.skipIf(!hasKeras)("loads Keras's weight files and reproduces Keras's features (within 1e-4 relative)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'graft-vgg16-'));
    const r = spawnSync(PYTHON, [path.resolve(__dirname, '../../fixtures/keras/make_vgg16_reference.py'), dir], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const ref = JSON.parse(readFileSync(path.join(dir, 'vgg16.json'), 'utf8')) as { input_shape: number[]; input: number[]; output: number[] };
    const scale = Math.max(...ref.output.map(Math.abs));
    const check = (model: ReturnType<typeof buildVgg16>): number =>
      tf.tidy(() => {
        const y = (model.predict(tf.tensor(ref.input, ref.input_shape)) as tf.Tensor).dataSync();
        return ref.output.reduce((m, v, i) => Math.max(m, Math.abs(y[i]! - v)), 0) / scale;
      });
    const keras3 = buildVgg16({ inputShape: [32, 32, 3] });
    await loadKerasWeights(keras3, path.join(dir, 'vgg16.weights.h5'));
    expect(check(keras3)).toBeLessThan(1e-4);
    const legacy = await loadKerasModel(path.join(dir, 'vgg16-full.h5'));
    const byName = buildVgg16({ inputShape: [32, 32, 3], seed: 3 });
    byName.setWeights(legacy.model.getWeights());
    expect(check(byName)).toBeLessThan(1e-4);
  });
});
