import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareSource } from '../../app/source.js';
import { splitPerClass } from '../../app/split.js';
import { Rng } from '../../src/engine/rng.js';
import { initBrowserBackend } from '../../src/platform/browser/backend.js';
import { loadBackbone } from '../../src/workflows/backbone.js';
import { disposeModel } from '../../src/models/dispose.js';

/** The app's pieces that need no browser: the source it builds from a dropped model, and its split. */
const TM = path.resolve(import.meta.dirname, '../../../shared/fixtures/teachable-machine');
const hasTm = existsSync(path.join(TM, 'model.json'));
if (!hasTm) console.log(`app source test skipped: no Teachable Machine fixture at ${TM}`);

describe('app source: a dropped Teachable Machine export', () => {
  beforeAll(async () => {
    await initBrowserBackend({ backend: 'cpu' });
  });

  it.skipIf(!hasTm)("becomes MobileNetV2 α 0.35 at the chosen size, computing what graft's --weights model.json backbone computes", async () => {
    const before = tf.memory().numTensors;
    const files = { modelJson: await readFile(path.join(TM, 'model.json'), 'utf8'), weights: new Uint8Array(await readFile(path.join(TM, 'weights.bin'))), name: 'model.json' };
    const source = await prepareSource(files, 48);
    const node = await loadBackbone({ backbone: 'mobilenetv2:0.35', input: 48, weights: path.join(TM, 'model.json') });
    try {
      expect(source.input).toBe(48);
      expect(source.description).toContain('MobileNetV2 α 0.35');
      expect(source.model.inputs[0]!.shape).toEqual([null, 48, 48, 3]);
      const rng = new Rng(5);
      const x = Float32Array.from({ length: 2 * 48 * 48 * 3 }, () => rng.next());
      // Feature maps (no classifier yet): the models' raw outputs.
      const features = (m: typeof source.model) => tf.tidy(() => (m.predict(tf.tensor4d(x, [2, 48, 48, 3])) as tf.Tensor).dataSync() as Float32Array);
      const a = features(source.model);
      const b = features(node.model);
      expect(a.length).toBe(b.length);
      const worst = a.reduce((w, v, i) => Math.max(w, Math.abs(v - b[i]!)), 0);
      expect(worst).toBeLessThanOrEqual(1e-5);
      // Not a trivially equal pair: the features vary with the image.
      expect(a.some((v, i) => Math.abs(v - a[i + a.length / 2]!) > 1e-3)).toBe(true);
    } finally {
      disposeModel(source.model);
      disposeModel(node.model);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it.skipIf(!hasTm)('refuses an input below 32 for MobileNetV2, naming the value and the fix', async () => {
    const files = { modelJson: await readFile(path.join(TM, 'model.json'), 'utf8'), weights: new Uint8Array(await readFile(path.join(TM, 'weights.bin'))), name: 'model.json' };
    await expect(prepareSource(files, 16)).rejects.toThrow(/at least 32×32; received 16\. Choose 32 or more/);
  });
});

describe('app split', () => {
  it('holds out the test share of every class, then the validation share of the rest, seeded', () => {
    const labels = [...Array<number>(40).fill(0), ...Array<number>(10).fill(1)];
    const parts = splitPerClass(labels, 2, 0.2, 0.25, 0);
    const count = (k: number, p: string) => parts.filter((q, i) => q === p && labels[i] === k).length;
    expect([count(0, 'train'), count(0, 'validation'), count(0, 'test')]).toEqual([24, 8, 8]);
    expect([count(1, 'train'), count(1, 'validation'), count(1, 'test')]).toEqual([6, 2, 2]);
    expect(splitPerClass(labels, 2, 0.2, 0.25, 0)).toEqual(parts);
    expect(splitPerClass(labels, 2, 0.2, 0.25, 1)).not.toEqual(parts);
  });
});
