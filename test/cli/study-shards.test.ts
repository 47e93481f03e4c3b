import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CompareResult, Trial } from '../../src/evaluate/compare-result.js';
import type { SweepResult, SweepTrial } from '../../src/evaluate/sweep-result.js';
import type { LayersResult } from '../../src/evaluate/layers-result.js';

// Shards run as separate processes, as on separate machines. GRAFT_TEST_BIN: a build elsewhere.
const BIN = process.env.GRAFT_TEST_BIN ?? path.resolve(__dirname, '../../bin/graft.js');
const dataDir = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte.gz')) || existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte'));
if (!haveData) console.log(`skipping sweep/run shard tests: no Fashion-MNIST in ${dataDir}`);

function graft(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });
}

const dir = mkdtempSync(path.join(tmpdir(), 'graft-study-shards-'));
const src = path.join(dir, 'src');
const noTime = <T extends { seconds: number }>(ts: readonly T[]): Array<Omit<T, 'seconds'>> => ts.map(({ seconds: _s, ...t }) => t);

/** An experiment file in `dir`: the fields shared by every test plus `lines`. */
function experiment(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, [`from: ${src}`, 'task: fashion-mnist:binary=shirt,sandal', `dataDir: ${dataDir}`, 'offline: true', ...lines, ''].join('\n'));
  return file;
}

/** Shards 1..n of `args` as n processes, then graft merge of their folder; the merged result file. */
function shardsThenMerge(args: string[], shards: string, n: number, kind: string): string {
  for (let k = 1; k <= n; k++) {
    const r = graft([...args, '--out', shards, '--shard', `${k}/${n}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${kind}.shard-${k}-of-${n}.json`);
  }
  // A shard writes only its shard file.
  expect(existsSync(path.join(shards, `${kind}.json`))).toBe(false);
  const merged = graft(['merge', shards]);
  expect(merged.status, merged.stderr).toBe(0);
  expect(merged.stdout).toContain(`Merged ${n} shards`);
  return path.join(shards, `${kind}.json`);
}

describe.skipIf(!haveData)('graft sweep --shard and graft run FILE --shard, joined by graft merge', () => {
  beforeAll(() => {
    const r = graft(['train', '--task', 'fashion-mnist:exclude=sandal,shirt', '--out', src, '--epochs', '1', '--per-class', '30', '--data-dir', dataDir, '--offline', '--json']);
    expect(r.status, r.stderr).toBe(0);
  });

  it('sweep shards 1/3, 2/3, 3/3 merge to the single-machine sweep.json: every configuration, the choice and its one test score', () => {
    // 8 configurations over 3 shards (3, 3, 2); issue 16's options ride along in the plan.
    const file = experiment('sweep.yaml', [
      'kind: sweep',
      'out: runs/sweep',
      'perClass: 10',
      'valSplit: 0.3',
      'optimizer: adamw',
      'weightDecay: 0.001',
      'frozenSchedule: cosine',
      'labelSmoothing: 0.1',
      'keepBest: true',
      'monitor: val_accuracy',
      'space: { freeze: [all, none], frozenLr: [0.01, 0.001], frozenEpochs: [1, 2], unfrozenEpochs: [1] }',
    ]);
    const single = graft(['sweep', file, '--json']);
    expect(single.status, single.stderr).toBe(0);
    const mergedFile = shardsThenMerge(['sweep', file], path.join(dir, 'sweep-shards'), 3, 'sweep');
    const a = JSON.parse(readFileSync(path.join(dir, 'runs', 'sweep', 'sweep.json'), 'utf8')) as SweepResult;
    const b = JSON.parse(readFileSync(mergedFile, 'utf8')) as SweepResult;
    expect(b.trials).toHaveLength(8);
    expect(noTime<SweepTrial>(b.trials)).toEqual(noTime<SweepTrial>(a.trials));
    const { seconds: _a, ...bestA } = a.best;
    const { seconds: _b, ...bestB } = b.best;
    expect(bestB).toEqual(bestA);
    for (const key of ['kind', 'task', 'mode', 'tried', 'settings', 'source', 'backend', 'graftVersion'] as const) expect(b[key], key).toEqual(a[key]);
    // The test set: once on one machine; once per shard (its own best) when sharded, and the caveat says so.
    expect(a.caveat).toContain('was measured once, for the chosen configuration only');
    expect(b.caveat).toContain('each of the 3 shards scored only its own best on the test set, and only this score is used');
    expect(b.settings).toMatchObject({ optimizer: { name: 'adamw', weightDecay: 0.001 }, frozenSchedule: 'cosine', controls: { labelSmoothing: 0.1, keepBest: { monitor: 'val_accuracy' } } });
    expect(existsSync(path.join(dir, 'sweep-shards', 'report.html'))).toBe(true);
  }, 300_000);

  it('graft run FILE --shard K/N of a compare file merges to graft run FILE', () => {
    const file = experiment('compare.yaml', ['kind: compare', 'out: runs/compare', 'perClass: [5, 10]', 'seeds: 2', 'workers: 1', 'frozen: { epochs: 1, schedule: cosine }', 'unfrozen: { epochs: 1 }', 'labelSmoothing: 0.05']);
    const single = graft(['run', file, '--json']);
    expect(single.status, single.stderr).toBe(0);
    const mergedFile = shardsThenMerge(['run', file], path.join(dir, 'compare-shards'), 3, 'compare');
    const a = JSON.parse(readFileSync(path.join(dir, 'runs', 'compare', 'compare.json'), 'utf8')) as CompareResult;
    const b = JSON.parse(readFileSync(mergedFile, 'utf8')) as CompareResult;
    expect(b.trials).toHaveLength(2 * 2 * 2);
    expect(noTime<Trial>(b.trials)).toEqual(noTime<Trial>(a.trials));
    expect(b.rows).toEqual(a.rows);
    expect(b.settings).toEqual(a.settings);
    expect(b.settings).toMatchObject({ frozenSchedule: 'cosine', controls: { labelSmoothing: 0.05 } });
  }, 300_000);

  it('graft run FILE --shard K/N of a layers file merges to graft run FILE', () => {
    const file = experiment('layers.yaml', ['kind: layers', 'out: runs/layers', 'perClass: 10', 'seeds: 2', 'epochs: 1', 'optimizer: { name: adamw, learningRate: 0.01 }', 'schedule: cosine', 'labelSmoothing: 0.05']);
    const single = graft(['run', file, '--json']);
    expect(single.status, single.stderr).toBe(0);
    const mergedFile = shardsThenMerge(['run', file], path.join(dir, 'layers-shards'), 3, 'layers');
    const a = JSON.parse(readFileSync(path.join(dir, 'runs', 'layers', 'layers.json'), 'utf8')) as LayersResult;
    const b = JSON.parse(readFileSync(mergedFile, 'utf8')) as LayersResult;
    expect(b.points).toEqual(a.points);
    expect(b.settings).toEqual(a.settings);
    expect(b.settings).toMatchObject({ optimizer: 'adamw(lr=0.01, weight_decay=0.01 decoupled)', schedule: 'cosine', controls: { labelSmoothing: 0.05 } });
  }, 300_000);

  it('refuses --shard for a file that trains one run, and shards of two different sweeps, naming the difference', () => {
    const train = path.join(dir, 'train.yaml');
    writeFileSync(train, ['kind: train', 'task: fashion-mnist:binary=shirt,sandal', 'out: runs/train', 'epochs: 1', `dataDir: ${dataDir}`, 'offline: true', ''].join('\n'));
    const r = graft(['run', train, '--shard', '1/2']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('a kind: train experiment trains one run');
    expect(existsSync(path.join(dir, 'runs', 'train'))).toBe(false);

    const space = 'space: { frozenLr: [0.01, 0.001], frozenEpochs: [1], unfrozenEpochs: [1] }';
    const mixed = path.join(dir, 'mixed');
    const one = experiment('s1.yaml', ['kind: sweep', 'out: runs/s1', 'perClass: 10', 'labelSmoothing: 0.1', space]);
    const two = experiment('s2.yaml', ['kind: sweep', 'out: runs/s2', 'perClass: 10', 'labelSmoothing: 0.2', space]);
    expect(graft(['sweep', one, '--out', mixed, '--shard', '1/2']).status).toBe(0);
    expect(graft(['sweep', two, '--out', mixed, '--shard', '2/2']).status).toBe(0);
    const m = graft(['merge', mixed]);
    expect(m.status).toBe(2);
    expect(m.stderr).toContain('shards of different runs (plan.labelSmoothing: 0.1 vs 0.2)');
    expect(existsSync(path.join(mixed, 'sweep.json'))).toBe(false);
  }, 300_000);
});
