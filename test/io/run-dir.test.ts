import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { buildSmallCnn } from '../../src/models/small-cnn.js';
import { loadModel, saveRun } from '../../src/io/run-dir.js';
import { testRunInfo, useBackend } from '../helpers.js';

beforeAll(useBackend);

const info = testRunInfo({ task: 'fashion-mnist', classNames: ['a', 'b', 'c'], sampleShape: [8, 8], preprocessing: { pixelScale: 1 / 255 } });

describe('run directories', () => {
  it('round-trips a model: same predictions, run.json kept', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'graft-run-')), 'run');
    const model = buildSmallCnn({ classes: 3, inputShape: [8, 8, 1], filters: [2, 2], dense: 4, seed: 2 });
    await saveRun(dir, model, info);
    const loaded = await loadModel(dir);
    expect(loaded.format).toBe('graft-run');
    expect(loaded.run?.classNames).toEqual(['a', 'b', 'c']);
    const x = tf.randomUniform([4, 8, 8, 1], 0, 1, 'float32', 5);
    const a = (model.predict(x) as tf.Tensor).dataSync();
    const b = (loaded.model.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(existsSync(path.join(dir, 'history.jsonl'))).toBe(true);
  });

  it('refuses to overwrite an existing run without force, and keeps it intact', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'graft-run-')), 'run');
    const model = buildSmallCnn({ classes: 3, inputShape: [8, 8, 1], filters: [2, 2], dense: 4 });
    await saveRun(dir, model, info);
    const before = readFileSync(path.join(dir, 'weights.bin'));
    const other = buildSmallCnn({ classes: 3, inputShape: [8, 8, 1], filters: [2, 2], dense: 4, seed: 9 });
    await expect(saveRun(dir, other, info)).rejects.toMatchObject({ code: 'OUTPUT_EXISTS', message: expect.stringMatching(/--force/) });
    expect(readFileSync(path.join(dir, 'weights.bin')).equals(before)).toBe(true);
    await saveRun(dir, other, info, { force: true });
    expect(readFileSync(path.join(dir, 'weights.bin')).equals(before)).toBe(false);
  });

  it('rejects weight paths outside the model folder and truncated weights', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'graft-run-'));
    const model = buildSmallCnn({ classes: 3, inputShape: [8, 8, 1], filters: [2, 2], dense: 4 });
    const run = path.join(dir, 'run');
    await saveRun(run, model, info);
    const json = JSON.parse(readFileSync(path.join(run, 'model.json'), 'utf8'));
    json.weightsManifest[0].paths = ['../../etc/passwd'];
    writeFileSync(path.join(run, 'evil.json'), JSON.stringify(json));
    await expect(loadModel(path.join(run, 'evil.json'))).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/outside the model's folder/) });
    const weights = readFileSync(path.join(run, 'weights.bin'));
    writeFileSync(path.join(run, 'weights.bin'), weights.subarray(0, weights.length - 8));
    await expect(loadModel(run)).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/declares \d+ bytes/) });
  });

  it('says what is missing for a folder without model.json or a missing path', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'graft-run-'));
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(loadModel(path.join(dir, 'nope'))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringMatching(/nope/) });
  });
});
