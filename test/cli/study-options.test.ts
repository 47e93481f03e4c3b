import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CompareResult, Trial } from '../../src/evaluate/compare-result.js';
import type { LayersResult } from '../../src/evaluate/layers-result.js';
import { loadExperiment } from '../../src/workflows/config/load.js';
import { cliInProcess, saveSourceRun } from './in-process.js';
import { rejectsWith, useBackend } from '../helpers.js';

/**
 * Issue 16's training options reach graft compare (flags) and experiment files (fields): they change
 * the trials, compare.json states them, and a file with the option runs exactly as the flags do.
 */
const dataDir = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte.gz')) || existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte'));
if (!haveData) console.log(`skipping study option tests: no Fashion-MNIST in ${dataDir}`);

const TASK = 'fashion-mnist:binary=tshirt-top,sandal';
const dir = mkdtempSync(path.join(tmpdir(), 'graft-study-options-'));
const source = path.join(dir, 'source');
const base = (out: string): string[] => ['compare', '--from', source, '--task', TASK, '--per-class', '8', '--seeds', '2', '--workers', '1', '--frozen-epochs', '2', '--epochs', '1', '--out', out, '--data-dir', dataDir, '--offline'];
const read = (out: string): CompareResult => JSON.parse(readFileSync(path.join(out, 'compare.json'), 'utf8')) as CompareResult;
beforeAll(useBackend);
const withoutTime = (ts: Trial[]): Array<Omit<Trial, 'seconds'>> => ts.map(({ seconds: _s, ...t }) => t);

describe.skipIf(!haveData)('issue 16 options in graft compare and compare files', () => {
  beforeAll(async () => {
    await saveSourceRun(source);
  });

  it('--frozen-optimizer adamw gives other trials than sgd, and compare.json says which ran', async () => {
    const sgd = path.join(dir, 'sgd');
    const adamw = path.join(dir, 'adamw');
    expect((await cliInProcess([...base(sgd), '--frozen-optimizer', 'sgd', '--frozen-lr', '0.05'])).code).toBe(0);
    const r = await cliInProcess([...base(adamw), '--frozen-optimizer', 'adamw', '--frozen-lr', '0.05', '--weight-decay', '0.1']);
    expect(r.code, r.stderr).toBe(0);
    const a = read(sgd);
    const b = read(adamw);
    expect(a.settings.frozenOptimizer).toMatch(/^sgd\(/);
    expect(b.settings.frozenOptimizer).toBe('adamw(lr=0.05, weight_decay=0.1 decoupled)');
    expect(b.settings.scratchOptimizer).toBe(b.settings.frozenOptimizer);
    // Same subsamples and seeds: only the optimizer differs, and every trial's loss moves with it.
    expect(b.trials.map((t) => [t.trainSize, t.seed, t.arm])).toEqual(a.trials.map((t) => [t.trainSize, t.seed, t.arm]));
    b.trials.forEach((t, i) => expect(t.testLoss, `trial ${i}`).not.toBe(a.trials[i]!.testLoss));
  }, 120_000);

  it('schedules, --bn, label smoothing, keep best, reduce on plateau and --monitor are in the plan and compare.json; a file with the same fields runs the same trials', async () => {
    const flags = path.join(dir, 'flags');
    const r = await cliInProcess([
      ...base(flags),
      '--frozen-optimizer', 'rmsprop', '--frozen-lr', '0.01', '--momentum', '0.5',
      '--frozen-schedule', 'cosine', '--schedule', 'step:1,0.5', '--bn', 'frozen',
      '--label-smoothing', '0.1', '--keep', 'best', '--reduce-on-plateau', '1,0.5', '--monitor', 'val_accuracy', '--early-stopping', '3',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const a = read(flags);
    expect(a.settings).toMatchObject({
      frozenOptimizer: 'rmsprop(lr=0.01, momentum=0.5, rho=0.9)',
      frozenSchedule: 'cosine',
      unfrozenSchedule: 'step:1,0.5',
      batchNorm: 'frozen',
      monitor: 'val_accuracy',
      earlyStoppingPatience: 3,
      controls: { labelSmoothing: 0.1, keepBest: { monitor: 'val_accuracy' }, reduceOnPlateau: { monitor: 'val_accuracy', patience: 1, factor: 0.5 } },
    });

    // They act on the training: leaving out the controls, or the schedules, gives other trials. (This source has
    // no BatchNorm, so --bn is only recorded here; batchnorm-runs.test.ts covers what it does.)
    const common = ['--frozen-optimizer', 'rmsprop', '--frozen-lr', '0.01', '--momentum', '0.5', '--early-stopping', '3'];
    const noControls = path.join(dir, 'no-controls');
    expect((await cliInProcess([...base(noControls), ...common, '--frozen-schedule', 'cosine', '--schedule', 'step:1,0.5', '--bn', 'frozen', '--monitor', 'val_accuracy'])).code).toBe(0);
    expect(withoutTime(read(noControls).trials)).not.toEqual(withoutTime(a.trials));
    const noSchedules = path.join(dir, 'no-schedules');
    expect((await cliInProcess([...base(noSchedules), ...common, '--label-smoothing', '0.1', '--keep', 'best', '--reduce-on-plateau', '1,0.5', '--monitor', 'val_accuracy'])).code).toBe(0);
    expect(withoutTime(read(noSchedules).trials)).not.toEqual(withoutTime(a.trials));

    const file = path.join(dir, 'compare.yaml');
    writeFileSync(
      file,
      [
        'kind: compare',
        `from: ${source}`,
        `task: ${TASK}`,
        'out: runs/file',
        `dataDir: ${dataDir}`,
        'offline: true',
        'perClass: [8]',
        'seeds: 2',
        'workers: 1',
        'frozen: { epochs: 2, optimizer: { name: rmsprop, learningRate: 0.01, momentum: 0.5 }, schedule: cosine }',
        'unfrozen: { epochs: 1, schedule: "step:1,0.5" }',
        'earlyStopping: { patience: 3 }',
        'batchNorm: frozen',
        'labelSmoothing: 0.1',
        'keepBest: true',
        'reduceOnPlateau: { patience: 1, factor: 0.5 }',
        'monitor: val_accuracy',
        '',
      ].join('\n'),
    );
    const f = await cliInProcess(['run', file]);
    expect(f.code, f.stderr).toBe(0);
    const b = read(path.join(dir, 'runs', 'file'));
    expect(b.settings).toEqual(a.settings);
    expect(withoutTime(b.trials)).toEqual(withoutTime(a.trials));
  }, 180_000);
});

describe.skipIf(!haveData)('issue 16 options in graft layers and layers files', () => {
  const layersArgs = (out: string, optimizer: string): string[] => ['layers', '--from', source, '--task', TASK, '--per-class', '10', '--seeds', '2', '--epochs', '2', '--optimizer', optimizer, '--lr', '0.05', '--out', out, '--data-dir', dataDir, '--offline'];
  const readLayers = (out: string): LayersResult => JSON.parse(readFileSync(path.join(out, 'layers.json'), 'utf8')) as LayersResult;
  const accuracies = (r: LayersResult): number[] => r.points.flatMap((p) => [...p.arms.frozen.values, ...p.arms['fine-tuned'].values, ...p.arms.scratch.values]);

  it('the flags change the trials and layers.json states them; a layers file with the same fields gives the same result', async () => {
    if (!existsSync(source)) await saveSourceRun(source);
    const plain = path.join(dir, 'layers-plain');
    expect((await cliInProcess(layersArgs(plain, 'sgd'))).code).toBe(0);
    const flags = path.join(dir, 'layers-flags');
    const opts = ['--weight-decay', '0.05', '--schedule', 'cosine', '--label-smoothing', '0.1', '--val-split', '0.2', '--keep', 'best', '--monitor', 'val_accuracy', '--class-weight', 'balanced'];
    const r = await cliInProcess([...layersArgs(flags, 'adamw'), ...opts]);
    expect(r.code, r.stderr).toBe(0);
    const a = readLayers(flags);
    expect(a.settings).toEqual({
      optimizer: 'adamw(lr=0.05, weight_decay=0.05 decoupled)',
      batchSize: 32,
      schedule: 'cosine',
      classWeight: 'balanced',
      valSplit: 0.2,
      controls: { labelSmoothing: 0.1, keepBest: { monitor: 'val_accuracy' } },
    });
    expect(accuracies(a)).not.toEqual(accuracies(readLayers(plain)));
    // The controls act too: the same optimizer, schedule, split and weights without them train otherwise.
    const noControls = path.join(dir, 'layers-no-controls');
    expect((await cliInProcess([...layersArgs(noControls, 'adamw'), '--weight-decay', '0.05', '--schedule', 'cosine', '--val-split', '0.2', '--class-weight', 'balanced'])).code).toBe(0);
    expect(accuracies(a)).not.toEqual(accuracies(readLayers(noControls)));

    const file = path.join(dir, 'layers.yaml');
    writeFileSync(
      file,
      [
        'kind: layers', `from: ${source}`, `task: ${TASK}`, 'out: runs/layers', `dataDir: ${dataDir}`, 'offline: true', 'perClass: 10', 'seeds: 2', 'epochs: 2',
        'optimizer: { name: adamw, learningRate: 0.05, weightDecay: 0.05 }', 'schedule: cosine', 'labelSmoothing: 0.1', 'valSplit: 0.2', 'keepBest: true', 'monitor: val_accuracy', 'classWeight: balanced', '',
      ].join('\n'),
    );
    const f = await cliInProcess(['run', file]);
    expect(f.code, f.stderr).toBe(0);
    const b = readLayers(path.join(dir, 'runs', 'layers'));
    expect(b.settings).toEqual(a.settings);
    expect(b.points).toEqual(a.points);
  }, 180_000);

  it('--keep best without --val-split is refused before anything is written, in the flags\' and the file\'s words', async () => {
    if (!existsSync(source)) await saveSourceRun(source);
    const out = path.join(dir, 'layers-no-split');
    const r = await cliInProcess([...layersArgs(out, 'adam'), '--keep', 'best']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('graft layers holds out none; received valSplit none. Fix: add --val-split 0.2');
    expect(existsSync(out)).toBe(false);
    const file = path.join(dir, 'layers-no-split.yaml');
    writeFileSync(file, ['kind: layers', `from: ${source}`, `task: ${TASK}`, 'out: runs/layers-no-split', 'reduceOnPlateau: { patience: 2 }', ''].join('\n'));
    const f = await cliInProcess(['run', file]);
    expect(f.code).toBe(2);
    expect(f.stderr).toContain('Reduce on plateau (--reduce-on-plateau, reduceOnPlateau) watches a validation metric');
    expect(existsSync(path.join(dir, 'runs', 'layers-no-split'))).toBe(false);
  });
});

describe.skipIf(!haveData)('issue 16 fields in a transfer file', () => {
  type Phase = { name: string; optimizer: unknown; schedule?: string; controls?: unknown; batchNorm?: unknown; history: Array<Record<string, unknown>> };
  const phases = (out: string): Array<Omit<Phase, 'history'> & { history: Array<Record<string, unknown>> }> =>
    (JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as { phases: Phase[] }).phases.map((p) => ({
      name: p.name,
      optimizer: p.optimizer,
      schedule: p.schedule,
      controls: p.controls,
      batchNorm: p.batchNorm,
      // Wall times aside, every number of every epoch.
      history: p.history.map((h) => Object.fromEntries(Object.entries(h).filter(([k]) => !/seconds/i.test(k)))),
    }));

  it('train the same run as graft transfer with the same flags', async () => {
    if (!existsSync(source)) await saveSourceRun(source);
    const cli = path.join(dir, 'transfer-cli');
    const r = await cliInProcess([
      'transfer', '--from', source, '--task', TASK, '--out', cli, '--data-dir', dataDir, '--offline', '--per-class', '20', '--val-split', '0.25',
      '--frozen-epochs', '2', '--frozen-optimizer', 'adamw', '--frozen-lr', '0.01', '--weight-decay', '0.05', '--frozen-schedule', 'cosine',
      '--epochs', '2', '--schedule', 'step:1,0.5', '--early-stopping', '3', '--label-smoothing', '0.1', '--keep', 'best', '--reduce-on-plateau', '1,0.5', '--monitor', 'val_accuracy', '--bn', 'frozen',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const file = path.join(dir, 'transfer.yaml');
    writeFileSync(
      file,
      [
        'kind: transfer', `from: ${source}`, `task: ${TASK}`, 'out: runs/transfer', `dataDir: ${dataDir}`, 'offline: true', 'perClass: 20', 'valSplit: 0.25',
        'frozen: { epochs: 2, optimizer: { name: adamw, learningRate: 0.01, weightDecay: 0.05 }, schedule: cosine }',
        'unfrozen: { epochs: 2, schedule: "step:1,0.5" }',
        'earlyStopping: { patience: 3 }', 'labelSmoothing: 0.1', 'keepBest: true', 'reduceOnPlateau: { patience: 1, factor: 0.5 }', 'monitor: val_accuracy', 'batchNorm: frozen', '',
      ].join('\n'),
    );
    const f = await cliInProcess(['run', file]);
    expect(f.code, f.stderr).toBe(0);
    const a = phases(cli);
    expect(a.map((p) => p.schedule)).toEqual(['cosine', 'step:1,0.5']);
    expect(a[0]?.controls).toMatchObject({ labelSmoothing: 0.1, keepBest: { monitor: 'val_accuracy' } });
    expect(phases(path.join(dir, 'runs', 'transfer'))).toEqual(a);
  }, 120_000);
});

describe('issue 16 fields in experiment files are checked', () => {
  const write = (name: string, lines: string[]): string => {
    const file = path.join(dir, name);
    writeFileSync(file, ['kind: compare', 'from: source', 'task: fashion-mnist:binary=shirt,sandal', 'out: runs/x', ...lines, ''].join('\n'));
    return file;
  };

  it.each([
    ['a schedule that is not one', ['frozen: { epochs: 1, schedule: cosin }'], ['compare.frozen.schedule', '"cosin"']],
    ['an unknown optimizer', ['frozen: { epochs: 1, optimizer: { name: adamax } }'], ['compare.frozen.optimizer.name', '"adamax"', 'adamw']],
    ['weight decay out of range', ['frozen: { epochs: 1, optimizer: { weightDecay: 2 } }'], ['compare.frozen.optimizer.weightDecay', '2']],
    ['a BatchNorm mode that is not one', ['batchNorm: freeze'], ['compare.batchNorm', '"freeze"', 'frozen']],
    ['a metric that is not monitored', ['monitor: accuracy'], ['compare.monitor', '"accuracy"', 'val_accuracy']],
    ['label smoothing of 1', ['labelSmoothing: 1'], ['compare.labelSmoothing', '< 1', 'received 1']],
    ['reduceOnPlateau without patience', ['reduceOnPlateau: { factor: 0.5 }'], ['compare.reduceOnPlateau.patience is required']],
    ['a misspelt field', ['keepbest: true'], ['compare.keepbest is not a field', 'keepBest']],
  ])('refuses %s, naming the field, what it received and the fix', async (_what, lines, named) => {
    const e = await rejectsWith(loadExperiment(write('bad.yaml', lines)), 'BAD_ARGUMENT');
    for (const n of named) expect(e.message).toContain(n);
    expect(e.message).toContain('Fix');
  });

  it.skipIf(!haveData)('refuses a monitor that nothing watches before any trial runs, in the file\'s words', async () => {
    if (!existsSync(source)) await saveSourceRun(source);
    const file = write('monitor.yaml', [`dataDir: ${dataDir}`, 'offline: true', 'earlyStopping: { patience: off }', 'monitor: val_accuracy']);
    writeFileSync(file, readFileSync(file, 'utf8').replace('from: source', `from: ${source}`));
    const r = await cliInProcess(['run', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('monitor val_accuracy was given but nothing watches it; add earlyStopping, keepBest: true or reduceOnPlateau');
    expect(existsSync(path.join(dir, 'runs', 'x'))).toBe(false);
  });
});
