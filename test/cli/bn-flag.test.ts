import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/io/run-dir.js';
import { useBackend } from '../helpers.js';
import { cliCapture } from './in-process.js';

/** --bn on graft train (the small CNN has BatchNorm) and on graft seed, where only --cnn has BatchNorm. */
const dataDir = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte.gz')) || existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte'));
if (!haveData) console.log(`skipping the --bn train test: no Fashion-MNIST in ${dataDir}`);

const dir = mkdtempSync(path.join(tmpdir(), 'graft-bn-flag-'));
beforeAll(useBackend);

/** The moving means of every BatchNorm layer of a saved run, flattened. */
async function movingMeans(run: string): Promise<number[]> {
  const { model } = await loadModel(run);
  const means = model.layers.filter((l) => l.getClassName() === 'BatchNormalization').flatMap((l) => l.weights.filter((w) => w.name.includes('moving_mean')).flatMap((w) => Array.from(w.read().dataSync())));
  model.dispose();
  return means;
}

describe.skipIf(!haveData)('graft train --bn', () => {
  const train = (out: string, bn: string): Promise<{ code: number; stderr: string }> =>
    cliCapture(['train', '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--arch', 'cnn', '--per-class', '16', '--epochs', '1', '--batch-size', '8', '--bn', bn, '--out', out, '--data-dir', dataDir, '--offline', '--engine', 'tfjs']);

  it('frozen keeps BatchNorm\'s moving statistics as initialised, train updates them; run.json says which ran', async () => {
    const frozen = path.join(dir, 'frozen');
    const trained = path.join(dir, 'train');
    expect((await train(frozen, 'frozen')).code).toBe(0);
    expect((await train(trained, 'train')).code).toBe(0);
    const f = await movingMeans(frozen);
    const t = await movingMeans(trained);
    expect(f.length).toBeGreaterThan(0);
    // Keras initialises moving means to zero; only batch statistics move them.
    expect(f.every((x) => x === 0)).toBe(true);
    expect(t.some((x) => x !== 0)).toBe(true);
    const run = JSON.parse(readFileSync(path.join(frozen, 'run.json'), 'utf8')) as { phases: Array<{ batchNorm?: { mode: string; ran: string } }> };
    expect(run.phases[0]?.batchNorm).toEqual({ mode: 'frozen', ran: 'frozen' });
  }, 120_000);

  it('refuses a mode that is not one, naming it and the choices', async () => {
    const r = await train(path.join(dir, 'bad'), 'freeze');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--bn received "freeze"');
    expect(r.stderr).toContain('frozen');
    expect(existsSync(path.join(dir, 'bad'))).toBe(false);
  });
});

describe('graft seed --bn', () => {
  it('belongs to --cnn: the Fashion-MNIST walkthrough is refused with the fix, before anything trains', async () => {
    const out = path.join(dir, 'seed');
    const r = await cliCapture(['seed', '--bn', 'frozen', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--bn frozen belongs to graft seed --cnn');
    expect(existsSync(out)).toBe(false);
  });
});
