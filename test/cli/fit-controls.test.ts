import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunInfo } from '../../src/io/run-dir.js';
import { useBackend } from '../helpers.js';
import { cliInProcess, saveSourceRun } from './in-process.js';

/** --label-smoothing, --keep best, --reduce-on-plateau and --monitor on graft train. */
const DATA = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(DATA, 'train-images-idx3-ubyte.gz')) || existsSync(path.join(DATA, 'train-images-idx3-ubyte'));
if (!haveData) console.log(`skipping the fit-control runs: no Fashion-MNIST in ${DATA}`);

beforeAll(useBackend);
const dir = mkdtempSync(path.join(tmpdir(), 'graft-fit-controls-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DATA_FLAGS = ['--data-dir', DATA, '--offline', '--backend', 'wasm'];

describe('fit-control flags are checked before training', () => {
  for (const [flags, message] of [
    [['--label-smoothing', '1'], /--label-smoothing/],
    [['--keep', 'last'], /--keep received "last"; the only choice is best/],
    [['--reduce-on-plateau', '3,2'], /reduce-on-plateau factor/],
    [['--reduce-on-plateau', '0'], /reduce-on-plateau patience/],
    [['--keep', 'best', '--monitor', 'val_f1'], /--monitor received "val_f1".*val_loss, val_accuracy, val_auc/],
    [['--monitor', 'val_accuracy'], /nothing watches it/],
  ] as const) {
    it(`${flags.join(' ')} is refused`, async () => {
      const r = await cliInProcess(['train', '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--out', path.join(dir, 'never'), ...flags, ...DATA_FLAGS]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(path.join(dir, 'never'))).toBe(false);
    });
  }
});

describe.skipIf(!haveData)('graft train with the controls', () => {
  it('records metrics per epoch, the kept epoch and the controls in run.json and the log', async () => {
    const out = path.join(dir, 'train');
    const log = path.join(dir, 'train.jsonl');
    const r = await cliInProcess([
      'train', '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--per-class', '60', '--val-split', '0.25', '--epochs', '3', '--out', out, '--log', log,
      '--label-smoothing', '0.1', '--keep', 'best', '--monitor', 'val_auc', '--reduce-on-plateau', '1,0.5', ...DATA_FLAGS,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as RunInfo;
    const phase = run.phases[0]!;
    expect(phase.controls).toEqual({ labelSmoothing: 0.1, keepBest: { monitor: 'val_auc' }, reduceOnPlateau: { monitor: 'val_auc', factor: 0.5, patience: 1, minDelta: 1e-4, cooldown: 0, minLearningRate: 0 } });
    const aucs = phase.history.map((e) => e.valAuc!);
    expect(aucs.every((a) => a >= 0 && a <= 1)).toBe(true);
    const best = aucs.indexOf(Math.max(...aucs)) + 1;
    expect(phase.keptBest).toEqual({ epoch: best, monitor: 'val_auc', value: aucs[best - 1] });
    expect(phase.history[0]!.valPerClass!.map((c) => c.name)).toEqual(['T-shirt/top', 'Sandal']);
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { valAuc?: number; valMacroF1?: number });
    expect(lines.map((l) => l.valAuc)).toEqual(aucs);
    expect(lines.every((l) => typeof l.valMacroF1 === 'number')).toBe(true);
  });
});

describe.skipIf(!haveData)('graft transfer with the controls', () => {
  it('keeps the best epoch of each phase by val_accuracy (with smoothing and reduce-on-plateau on)', async () => {
    const source = path.join(dir, 'source');
    await saveSourceRun(source);
    const out = path.join(dir, 'transfer');
    const r = await cliInProcess([
      'transfer', '--from', source, '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--per-class', '40', '--val-split', '0.25', '--frozen-epochs', '2', '--epochs', '2', '--out', out,
      '--keep', 'best', '--monitor', 'val_accuracy', '--reduce-on-plateau', '1', '--label-smoothing', '0.2', ...DATA_FLAGS,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as RunInfo;
    expect(run.phases.map((p) => p.name)).toEqual(['frozen', 'unfrozen']);
    for (const p of run.phases) {
      expect(p.controls?.labelSmoothing).toBe(0.2);
      const acc = p.history.map((e) => e.valAccuracy!);
      const best = acc.indexOf(Math.max(...acc)) + 1;
      expect(p.keptBest, p.name).toEqual({ epoch: best, monitor: 'val_accuracy', value: acc[best - 1] });
    }
  });
});
