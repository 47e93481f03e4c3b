import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cifarBatch } from '../data/cifar-fixtures.js';

const BIN = path.resolve(__dirname, '../../bin/graft.js');
const TM = path.resolve(__dirname, '../../../shared/fixtures/teachable-machine/model.json');
const hasTm = existsSync(TM);
if (!hasTm) console.log(`seed-cnn.test: the Teachable Machine second source is left out: ${TM} does not exist`);

/** Tiny CIFAR-10 in the official binary layout: every class in every batch. */
function tinyCifar(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'graft-tiny-cifar-'));
  const labels = Array.from({ length: 40 }, (_, i) => i % 10);
  for (let b = 1; b <= 5; b++) writeFileSync(path.join(dir, `data_batch_${b}.bin`), cifarBatch(labels));
  writeFileSync(path.join(dir, 'test_batch.bin'), cifarBatch(labels));
  return dir;
}

const graft = (args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('graft seed --cnn', () => {
  it('without ImageNet weights, says so and runs the small-CNN analogue with its baseline', () => {
    const data = tinyCifar();
    const home = mkdtempSync(path.join(tmpdir(), 'graft-home-'));
    mkdirSync(path.join(home, '.cache'));
    const out = path.join(home, 'seed-cnn');
    // No cached weights (fresh HOME) and an unreachable mirror: the fallback must be taken and explained.
    const env = { HOME: home, XDG_CACHE_HOME: path.join(home, '.cache'), GRAFT_WEIGHTS_MIRROR: 'http://127.0.0.1:1' };
    const args = ['seed', '--cnn', '--data-dir', data, '--per-class', '0', '--epoch-scale', '0.1', '--out', out, '--backend', 'wasm', '--json', ...(hasTm ? ['--teachable-machine', TM] : [])];
    const r = graft(args, env);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { path: string; rows: Array<{ model: string; phase: string; epochs: number; testAccuracy: number }>; messages: string[] };
    expect(j.path).toBe('fallback');
    expect(j.messages.join('\n')).toMatch(/VGG16's ImageNet weights are not available.*vgg16_weights_tf_dim_ordering_tf_kernels_notop\.h5.*image analogue/s);
    const models = j.rows.map((row) => `${row.model}/${row.phase}`);
    expect(models.slice(0, 4)).toEqual(['A (small CNN, 8 classes)/train', 'B from A (transfer)/frozen', 'B from A (transfer)/unfrozen', 'B from scratch (same architecture)/train']);
    if (hasTm) expect(models.slice(4)).toEqual(['B from MobileNetV2 (Teachable Machine)/frozen', 'B from MobileNetV2 (Teachable Machine)/unfrozen']);
    // The tiny CIFAR's images are synthetic patterns, so no accuracy floor would mean anything here; but each
    // score must be a count over its own test set: 32 test images for A's 8 classes, 8 for cat vs dog (B).
    // This catches a NaN or missing score and one taken over the wrong set (A trains on 160, B on 40).
    for (const row of j.rows) {
      const n = row.model.startsWith('A ') ? 32 : 8;
      const correct = row.testAccuracy * n;
      expect(Math.abs(correct - Math.round(correct)), `${row.model}/${row.phase}: ${row.testAccuracy} is not k/${n}`).toBeLessThan(1e-9);
      expect(correct, `${row.model}/${row.phase}`).toBeGreaterThanOrEqual(0);
      expect(correct, `${row.model}/${row.phase}`).toBeLessThanOrEqual(n);
    }
    const b = JSON.parse(readFileSync(path.join(out, 'model-b', 'run.json'), 'utf8'));
    expect(b.task).toBe('cifar10:binary=cat,dog');
    expect(b.transfer.cut).toBe('pool2');
    expect(b.phases[1].trainableLayers).toEqual(expect.arrayContaining(['conv2', 'bn2']));
    expect(b.phases[1].trainableLayers).not.toContain('conv1');
    const scratch = JSON.parse(readFileSync(path.join(out, 'scratch-b', 'run.json'), 'utf8'));
    expect(scratch.kind).toBe('scratch');
    expect(scratch.phases[0].epochs).toBe(b.phases[0].epochs + b.phases[1].epochs);
    expect(existsSync(path.join(out, 'report.html'))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(out, 'seed.json'), 'utf8')).rows).toHaveLength(j.rows.length);
  }, 600_000);

  it('refuses to run without CIFAR-10, and Fashion-MNIST-only flags without --cnn', () => {
    const noData = graft(['seed', '--cnn', '--backend', 'wasm'], { GRAFT_DATA_DIR: '' });
    expect(noData.code).toBe(2);
    expect(noData.stderr).toMatch(/needs CIFAR-10: pass --data-dir/);
    const stray = graft(['seed', '--teachable-machine', 'x.json', '--backend', 'wasm']);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toMatch(/--teachable-machine belongs to graft seed --cnn/);
  });
});

describe('graft transfer --backbone', () => {
  it('needs exactly one source and an input size', () => {
    const both = graft(['transfer', '--from', 'a', '--backbone', 'vgg16', '--task', 'cifar10:binary=cat,dog', '--out', 'x']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/exactly one source.*received both/);
    const noInput = graft(['transfer', '--backbone', 'vgg16', '--task', 'cifar10:binary=cat,dog', '--out', 'x']);
    expect(noInput.code).toBe(2);
    expect(noInput.stderr).toMatch(/needs --input SIDE/);
    const badName = graft(['transfer', '--backbone', 'resnet', '--input', '64', '--task', 'cifar10:binary=cat,dog', '--out', 'x']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/choose vgg16, mobilenetv2/);
  });
});
