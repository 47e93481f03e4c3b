import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CompareResult, Trial } from '../../src/evaluate/compare-result.js';
import type { LayersResult } from '../../src/evaluate/layers-result.js';

// Shards run as separate processes, as on separate machines. GRAFT_TEST_BIN: a build elsewhere.
const BIN = process.env.GRAFT_TEST_BIN ?? path.resolve(__dirname, '../../bin/graft.js');
const dataDir = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte.gz')) || existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte'));
if (!haveData) console.log(`skipping shard/merge tests: no Fashion-MNIST in ${dataDir}`);

function graft(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ...env } });
}

const dir = mkdtempSync(path.join(tmpdir(), 'graft-merge-'));
const src = path.join(dir, 'src');
// Tiny on purpose: 2 sizes × 2 seeds = 4 pairs over 3 shards (one shard gets 2 pairs, two get 1).
const compareArgs = (seeds = '2'): string[] => ['compare', '--from', src, '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--per-class', '5,10', '--seeds', seeds, '--frozen-epochs', '1', '--epochs', '1', '--data-dir', dataDir, '--offline', '--workers', '1'];
const withoutTime = (ts: Trial[]): Array<Omit<Trial, 'seconds'>> => ts.map(({ seconds: _s, ...t }) => t);

describe.skipIf(!haveData)('graft compare --shard and graft merge', () => {
  beforeAll(() => {
    const r = graft(['train', '--task', 'fashion-mnist:exclude=sandal,shirt', '--out', src, '--epochs', '1', '--per-class', '30', '--data-dir', dataDir, '--offline', '--json']);
    expect(r.status, r.stderr).toBe(0);
  });

  it('merges shards 1/3, 2/3, 3/3 run as separate processes into the single-machine result, trial by trial', () => {
    const single = graft([...compareArgs(), '--out', path.join(dir, 'single'), '--json']);
    expect(single.status, single.stderr).toBe(0);
    const shards = path.join(dir, 'shards');
    for (const k of [1, 2, 3]) {
      const r = graft([...compareArgs(), '--out', shards, '--shard', `${k}/3`]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`compare.shard-${k}-of-3.json`);
    }
    // A shard writes only its shard file: no compare.json before the merge.
    expect(existsSync(path.join(shards, 'compare.json'))).toBe(false);
    const merged = graft(['merge', shards]);
    expect(merged.status, merged.stderr).toBe(0);
    expect(merged.stdout).toContain('Merged 3 shards');

    const a = JSON.parse(readFileSync(path.join(dir, 'single', 'compare.json'), 'utf8')) as CompareResult;
    const b = JSON.parse(readFileSync(path.join(shards, 'compare.json'), 'utf8')) as CompareResult;
    expect(b.trials).toHaveLength(2 * 2 * 2);
    // Bit-identical: every number of every trial (but its wall time), in the same order.
    expect(withoutTime(b.trials)).toEqual(withoutTime(a.trials));
    expect(b.rows).toEqual(a.rows);
    for (const key of ['kind', 'task', 'classNames', 'seeds', 'settings', 'source', 'backend', 'graftVersion'] as const) expect(b[key], key).toEqual(a[key]);
    expect(existsSync(path.join(shards, 'report.html'))).toBe(true);

    // A second merge would replace the result: refused without --force, like any graft output.
    const again = graft(['merge', shards]);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('already exists');
  });

  it('auto/N takes K from JOB_COMPLETION_INDEX; a shard of another plan or a missing shard is named and nothing is written', () => {
    const out = path.join(dir, 'auto');
    // Kubernetes counts from 0: index 1 is shard 2.
    const k8s = graft([...compareArgs(), '--out', out, '--shard', 'auto/3'], { JOB_COMPLETION_INDEX: '1' });
    expect(k8s.status, k8s.stderr).toBe(0);
    expect(readdirSync(out)).toContain('compare.shard-2-of-3.json');

    const missing = graft(['merge', out]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('shards 1, 3 of 3 are missing');

    // Shards 1 and 3 from a run with another number of seeds: a different plan.
    for (const k of [1, 3]) expect(graft([...compareArgs('3'), '--out', out, '--shard', `${k}/3`]).status).toBe(0);
    const mixed = graft(['merge', out]);
    expect(mixed.status).toBe(2);
    expect(mixed.stderr).toContain('different runs');
    expect(mixed.stderr).toContain('plan.seeds');
    expect(readdirSync(out).sort()).toEqual(['.graft', 'compare.shard-1-of-3.json', 'compare.shard-2-of-3.json', 'compare.shard-3-of-3.json']);
  });

  it('merges graft layers shards into the single-machine layers.json', () => {
    const layersArgs = ['layers', '--from', src, '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--per-class', '10', '--seeds', '2', '--epochs', '1', '--data-dir', dataDir, '--offline'];
    const single = graft([...layersArgs, '--out', path.join(dir, 'layers-single')]);
    expect(single.status, single.stderr).toBe(0);
    const shards = path.join(dir, 'layers-shards');
    // Slurm's SLURM_ARRAY_TASK_ID is K itself.
    for (const k of ['1', '2']) expect(graft([...layersArgs, '--out', shards, '--shard', 'auto/2'], { SLURM_ARRAY_TASK_ID: k }).status).toBe(0);
    const merged = graft(['merge', shards, '--out', path.join(dir, 'layers-merged')]);
    expect(merged.status, merged.stderr).toBe(0);
    const a = JSON.parse(readFileSync(path.join(dir, 'layers-single', 'layers.json'), 'utf8')) as LayersResult;
    const b = JSON.parse(readFileSync(path.join(dir, 'layers-merged', 'layers.json'), 'utf8')) as LayersResult;
    expect(b.points).toEqual(a.points);
    expect(b.points[0]!.arms.frozen.values).toHaveLength(2);
    expect({ ...b, createdAt: '' }).toEqual({ ...a, createdAt: '' });
    expect(existsSync(path.join(dir, 'layers-merged', 'report.html'))).toBe(true);
  });

  it.each(['0/3', '4/3', '1/0', 'half'])('refuses --shard %s before anything runs, naming it', (value) => {
    const out = path.join(dir, `bad-${value.replace('/', '-')}`);
    const r = graft([...compareArgs(), '--out', out, '--shard', value]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--shard ${value === 'half' ? '"half"' : value}`);
    expect(existsSync(out)).toBe(false);
  });
});
