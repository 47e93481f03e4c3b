import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSchedule, scheduledRate } from '../../src/train/schedule.js';
import { useBackend } from '../helpers.js';
import { cliCapture, cliInProcess, saveSourceRun } from './in-process.js';

/** --optimizer adamw|rmsprop, --weight-decay, --schedule and --frozen-schedule on train and transfer. */
const DATA = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(DATA, 'train-images-idx3-ubyte.gz')) || existsSync(path.join(DATA, 'train-images-idx3-ubyte'));
if (!haveData) console.log(`skipping the --schedule runs: no Fashion-MNIST in ${DATA}`);

beforeAll(useBackend);
const dir = mkdtempSync(path.join(tmpdir(), 'graft-schedule-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TASK = 'fashion-mnist:binary=tshirt-top,sandal';
const DATA_FLAGS = ['--data-dir', DATA, '--offline', '--backend', 'wasm'];

interface Phase {
  name: string;
  optimizer: Record<string, unknown>;
  schedule?: string;
  history: Array<{ learningRate: number }>;
}

describe('optimizer and schedule flags', () => {
  it('are in --help of train and transfer', async () => {
    const train = await cliCapture(['train', '--help']);
    expect(train.stdout).toMatch(/--optimizer NAME\s+sgd, adam, adamw or rmsprop/);
    expect(train.stdout).toMatch(/--weight-decay W/);
    expect(train.stdout).toMatch(/--schedule SPEC\s+Learning-rate schedule: constant \| step:EVERY,FACTOR/);
    const transfer = await cliCapture(['transfer', '--help']);
    expect(transfer.stdout).toMatch(/--frozen-schedule SPEC/);
    expect(transfer.stdout).toMatch(/--schedule SPEC/);
  });

  for (const [flags, message] of [
    [['--schedule', 'cosine:x'], /--schedule: Bad learning-rate schedule: the cosine floor is not a number; received "cosine:x". Accepted forms:/],
    [['--optimizer', 'adagrad'], /--optimizer received "adagrad"; choose sgd, adam, adamw, rmsprop/],
    [['--weight-decay', '-1'], /weight-decay/],
  ] as const) {
    it(`${flags.join(' ')} is refused before training`, async () => {
      const r = await cliInProcess(['train', '--task', TASK, '--out', path.join(dir, 'never'), ...flags, ...DATA_FLAGS]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(path.join(dir, 'never'))).toBe(false);
    });
  }
});

describe.skipIf(!haveData)('runs record the optimizer, the schedule and each epoch\'s rate', () => {
  it('graft train --optimizer adamw --weight-decay 0.02 --schedule cosine,warmup:1', async () => {
    const out = path.join(dir, 'train');
    const r = await cliInProcess(['train', '--task', TASK, '--per-class', '40', '--epochs', '3', '--batch-size', '16', '--optimizer', 'adamw', '--lr', '0.002', '--weight-decay', '0.02', '--schedule', 'cosine,warmup:1', '--out', out, ...DATA_FLAGS]);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as { phases: Phase[] };
    const p = run.phases[0]!;
    expect(p.optimizer).toMatchObject({ name: 'adamw', learningRate: 0.002, weightDecay: 0.02 });
    expect(p.schedule).toBe('cosine,warmup:1');
    // 80 samples, batch 16: 5 steps an epoch; warm-up starts at a fifth of the rate.
    const s = resolveSchedule('cosine,warmup:1');
    expect(p.history.map((h) => h.learningRate)).toEqual([1, 2, 3].map((e) => scheduledRate(s, 0.002, e, 0, 3, 5)));
    expect(p.history[0]!.learningRate).toBeCloseTo(0.0004, 12);
  });

  it('graft transfer: --frozen-schedule and --schedule per phase, rmsprop in both', async () => {
    const source = path.join(dir, 'source');
    await saveSourceRun(source);
    const out = path.join(dir, 'transfer');
    const t = await cliInProcess([
      'transfer', '--from', source, '--task', TASK, '--per-class', '30', '--frozen-epochs', '2', '--epochs', '2', '--frozen-optimizer', 'rmsprop', '--frozen-lr', '0.01',
      '--frozen-schedule', 'step:1,0.5', '--schedule', 'one-cycle', '--out', out, ...DATA_FLAGS,
    ]);
    expect(t.code, t.stderr).toBe(0);
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as { phases: Phase[] };
    expect(run.phases.map((p) => [p.name, p.optimizer.name, p.schedule])).toEqual([
      ['frozen', 'rmsprop', 'step:1,0.5'],
      ['unfrozen', 'rmsprop', 'one-cycle'],
    ]);
    expect(run.phases[0]!.history.map((h) => h.learningRate)).toEqual([0.01, 0.005]);
    // One-cycle starts at max / 25 (the unfrozen rate is a tenth of the frozen one).
    expect(run.phases[1]!.history[0]!.learningRate).toBeCloseTo(0.001 / 25, 12);
  }, 120_000);
});
