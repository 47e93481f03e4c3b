import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * bench/paired-accuracy.mjs, the accuracy claims' statistic: graft's mean paired difference from
 * each peer over seeds with a 95% t-interval, a seed's arms gathered from several results files,
 * a PyTorch arm with graft's sigmoid head as its own column. Checked on made-up results files
 * whose answer is worked by hand.
 */
const SCRIPT = path.resolve(__dirname, '../../bench/paired-accuracy.mjs');
let dir = '';

async function results(name: string, seed: number, runs: Array<{ arm: string; testAccuracy: number }>, torchHead?: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, JSON.stringify({ bench: 'resnet18', options: { seed, ...(torchHead && { torchHead }) }, runs }));
  return file;
}

async function paired(files: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT, ...files]);
    return { code: 0, out: stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: `${err.stdout}${err.stderr}` };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'graft-paired-accuracy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bench/paired-accuracy.mjs', () => {
  it('gives the mean paired difference with its t-interval, a later peer file joining its seed', async () => {
    // graft − torch per seed: −2, +1, 0 points → mean −0.33, sd 1.528, t(2) 4.303: ± 3.79.
    const files = [
      await results('s0.json', 0, [{ arm: 'graft', testAccuracy: 0.6 }, { arm: 'torch', testAccuracy: 0.62 }]),
      await results('s1.json', 1, [{ arm: 'graft', testAccuracy: 0.65 }, { arm: 'torch', testAccuracy: 0.64 }]),
      await results('s2.json', 2, [{ arm: 'graft', testAccuracy: 0.63 }, { arm: 'torch', testAccuracy: 0.63 }]),
      // The sigmoid-head peer, run on its own for two of the seeds: −1 and +2 → +0.50 ± 19.06 (t(1) 12.706).
      await results('s0-sig.json', 0, [{ arm: 'torch', testAccuracy: 0.61 }], 'sigmoid'),
      await results('s1-sig.json', 1, [{ arm: 'torch', testAccuracy: 0.63 }], 'sigmoid'),
    ];
    const r = await paired(files);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('graft − torch (after fine-tuning), 3 seeds: -0.33 ± 3.79 points');
    expect(r.out).toContain('graft − torch-sigmoid (after fine-tuning), 2 seeds: +0.50 ± 19.06 points');
    expect(r.out).toMatch(/seed\s+graft\s+torch\s+torch-sigmoid/);
  });

  it('refuses one seed and arm given twice', async () => {
    const a = await results('dup-a.json', 5, [{ arm: 'graft', testAccuracy: 0.6 }, { arm: 'torch', testAccuracy: 0.62 }]);
    const b = await results('dup-b.json', 5, [{ arm: 'torch', testAccuracy: 0.61 }]);
    const r = await paired([a, b]);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("seed 5's torch arm of resnet18 appears in two files");
  });
});
