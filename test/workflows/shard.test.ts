import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkShards, fingerprintDifference, mergeShards } from '../../src/workflows/merge.js';
import { dataHash, parseShard, shardFileName, shardIndices, type ShardFile, type ShardFingerprint } from '../../src/workflows/shard.js';
import { syntheticDataset, rejectsWith, thrown } from '../helpers.js';

describe('--shard K/N', () => {
  it('reads K and N', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(parseShard(' 1 / 1 ')).toEqual({ index: 1, count: 1 });
  });

  it.each([
    ['0/3', 'received 0'],
    ['4/3', 'received 4'],
    ['1/0', 'received 0'],
    ['two/3', '"two/3"'],
    ['2', '"2"'],
    ['-1/3', '"-1/3"'],
  ])('refuses %s, naming what it received', (text, received) => {
    const e = thrown(() => parseShard(text, {}));
    expect(e.code).toBe('BAD_ARGUMENT');
    expect(e.message).toContain(received);
    expect(e.message).toContain('K/N');
  });

  it('auto/N reads K from JOB_COMPLETION_INDEX (from 0) or SLURM_ARRAY_TASK_ID (from 1)', () => {
    expect(parseShard('auto/4', { JOB_COMPLETION_INDEX: '0' })).toEqual({ index: 1, count: 4 });
    expect(parseShard('auto/4', { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 4, count: 4 });
    expect(parseShard('auto/4', { SLURM_ARRAY_TASK_ID: '2' })).toEqual({ index: 2, count: 4 });
    expect(thrown(() => parseShard('auto/4', {})).message).toContain('neither is set');
    expect(thrown(() => parseShard('auto/4', { JOB_COMPLETION_INDEX: '4' })).message).toContain('received 5');
    expect(thrown(() => parseShard('auto/4', { SLURM_ARRAY_TASK_ID: 'x' })).message).toContain('"x"');
  });

  it('splits the trials into N disjoint shares that together hold each exactly once', () => {
    for (const total of [1, 5, 12, 13]) {
      for (const count of [1, 2, 3, 7, 20]) {
        const shares = Array.from({ length: count }, (_, i) => shardIndices(total, { index: i + 1, count }));
        expect(shares.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
        // Balanced: no share has more than one trial more than another.
        const sizes = shares.map((s) => s.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe('data fingerprint', () => {
  it('changes with one pixel or one label', () => {
    const d = syntheticDataset(6, 2, 1);
    const base = dataHash([d, undefined, d]);
    expect(dataHash([d, undefined, d])).toBe(base);
    const x = d.x.slice();
    x[3] = x[3]! + 1e-3;
    expect(dataHash([{ ...d, x }, undefined, d])).not.toBe(base);
    const y = d.y.slice();
    y[0] = 1 - y[0]!;
    expect(dataHash([{ ...d, y }, undefined, d])).not.toBe(base);
  });
});

// Shard files as `graft compare --shard` writes them; the trials are stand-ins (merge only moves them).
const FP: ShardFingerprint = { kind: 'compare', graftVersion: '0', task: 't', plan: { task: 't', trainSizes: [5], seeds: [0, 1, 2], frozen: { epochs: 1 } }, sourceHash: 'a', dataHash: 'b', backend: 'cpu', engine: 'auto' };
function shard(index: number, count: number, over: Partial<ShardFingerprint> = {}, total = 3): ShardFile<unknown> {
  return {
    format: 'graft-shard', graftVersion: '0', kind: 'compare', shard: { index, count }, fingerprint: { ...FP, ...over }, sourceLocation: 's', classNames: ['a', 'b'], createdAt: '', seconds: 1, total,
    results: shardIndices(total, { index, count }).map((i) => ({ index: i, result: [i] })),
  };
}
const read = (s: ShardFile<unknown>, file = shardFileName('compare', s.shard)): { file: string; content: ShardFile<unknown> } => ({ file, content: s });

describe('checking shards before a merge', () => {
  it('accepts 1..N of one plan in any order and returns them in K order', () => {
    const ok = checkShards([read(shard(3, 3)), read(shard(1, 3)), read(shard(2, 3))]);
    expect(ok.map((s) => s.content.shard.index)).toEqual([1, 2, 3]);
  });

  it('names a missing shard', () => {
    const e = thrown(() => checkShards([read(shard(1, 3)), read(shard(3, 3))]));
    expect(e.code).toBe('RUN_INCOMPLETE');
    expect(e.message).toContain('shard 2 of 3 is missing');
    expect(e.message).toContain('compare.shard-2-of-3.json');
  });

  it('names a duplicated shard and both its files', () => {
    const e = thrown(() => checkShards([read(shard(1, 2), 'a/x.json'), read(shard(2, 2)), read(shard(1, 2), 'b/x.json')]));
    expect(e.message).toContain('shard 1 of 2 appears twice: a/x.json and b/x.json');
  });

  it('refuses shards of different N', () => {
    const e = thrown(() => checkShards([read(shard(1, 3)), read(shard(2, 2))]));
    expect(e.message).toContain('shard 2 of 2');
    expect(e.message).toContain('of 3');
  });

  it.each([
    [{ plan: { ...(FP.plan as object), seeds: [0, 1] } }, 'plan.seeds: [0,1,2] vs [0,1]'],
    [{ sourceHash: 'other' }, 'sourceHash: "a" vs "other"'],
    [{ dataHash: 'other' }, 'dataHash'],
    [{ graftVersion: '1' }, 'graftVersion'],
    [{ backend: 'wasm' }, 'backend: "cpu" vs "wasm"'],
  ] as Array<[Partial<ShardFingerprint>, string]>)('refuses shards of different runs, naming the field (%j)', (over, named) => {
    const e = thrown(() => checkShards([read(shard(1, 2)), read(shard(2, 2, over))]));
    expect(e.message).toContain('different runs');
    expect(e.message).toContain(named);
  });

  it('finds the first differing field, nested', () => {
    expect(fingerprintDifference({ a: { b: 1, c: [1] } }, { a: { b: 1, c: [1] } })).toBeUndefined();
    expect(fingerprintDifference({ a: { b: 1, c: [1] } }, { a: { b: 1, c: [2] } })).toBe('a.c: [1] vs [2]');
    expect(fingerprintDifference({ a: 1 }, { a: 1, b: 2 })).toBe('b: absent vs 2');
  });
});

describe('mergeShards', () => {
  const write = (dir: string, s: ShardFile<unknown>): void => writeFileSync(path.join(dir, shardFileName('compare', s.shard)), JSON.stringify(s));

  it('writes nothing when a shard is missing, and names it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'graft-shard-'));
    write(dir, shard(1, 3));
    write(dir, shard(2, 3));
    const e = await rejectsWith(mergeShards({ inputs: [dir] }), 'RUN_INCOMPLETE');
    expect(e.message).toContain('shard 3 of 3 is missing');
    expect(readdirSync(dir).sort()).toEqual(['compare.shard-1-of-3.json', 'compare.shard-2-of-3.json']);
  });

  it('writes nothing when two shards of one run claim the same trial', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'graft-shard-'));
    const two = shard(2, 2);
    two.results.push({ index: 0, result: [0] });
    write(dir, shard(1, 2));
    write(dir, two);
    const e = await rejectsWith(mergeShards({ inputs: [dir] }), 'BAD_ARGUMENT');
    expect(e.message).toContain('trial 0');
    expect(existsSync(path.join(dir, 'compare.json'))).toBe(false);
  });

  it('refuses a folder without shard files and a file that is not one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'graft-shard-'));
    expect((await rejectsWith(mergeShards({ inputs: [dir] }), 'BAD_ARGUMENT')).message).toContain('holds no shard files');
    const other = path.join(dir, 'x.json');
    writeFileSync(other, '{"kind":"compare"}');
    expect((await rejectsWith(mergeShards({ inputs: [other] }), 'BAD_ARGUMENT')).message).toContain('not a graft shard file');
  });
});
