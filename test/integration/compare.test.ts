import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildMlp } from '../../src/models/mlp.js';
import { compare } from '../../src/workflows/compare.js';
import { saveRun } from '../../src/io/run-dir.js';
import { useBackend } from '../helpers.js';

const dataDir = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte.gz')) || existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte'));
if (!haveData) console.log(`skipping compare integration tests: no Fashion-MNIST in ${dataDir}`);

beforeAll(useBackend);

const BIN = path.resolve(__dirname, '../../bin/graft.js');
const small = { trainSizes: [10, 30] as Array<number | 'all'>, seeds: 3, frozen: { epochs: 3 }, unfrozen: { epochs: 2 }, dataDir, download: false, task: 'fashion-mnist:binary=shirt,sandal' };

describe.skipIf(!haveData)('graft compare', () => {
  it('gives the same numbers for the same seeds, with a row per train size', async () => {
    const source = buildMlp({ classes: 8, seed: 1 });
    const a = await compare({ ...small, source });
    const b = await compare({ ...small, source });
    expect(a.trials).toHaveLength(2 * 3 * 2);
    expect(a.trials.map((t) => t.testError)).toEqual(b.trials.map((t) => t.testError));
    expect(a.rows.map((r) => r.trainSize)).toEqual([10, 30]);
    for (const row of a.rows) {
      expect(row.transfer.n).toBe(3);
      expect(['helps', 'no clear difference', 'hurts']).toContain(row.verdict);
      expect(row.difference.mean).toBeCloseTo(row.transfer.mean - row.scratch.mean, 10);
    }
    // Both arms of a seed train on the same images.
    const counts = a.trials.filter((t) => t.trainSize === 10).map((t) => t.trainCount);
    expect(new Set(counts).size).toBe(1);
  });

  it('runs trials on worker threads with results identical to a serial run', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'graft-compare-'));
    const src = path.join(dir, 'src');
    return saveRun(src, buildMlp({ classes: 8, seed: 2 }), {
      graftVersion: 't', tfjsVersion: 't', createdAt: '', kind: 'train', task: 'fashion-mnist:exclude=sandal,shirt', classNames: [], sampleShape: [28, 28], preprocessing: { pixelScale: 1 / 255 }, seed: 0, backend: 'wasm', phases: [],
    }).then(() => {
      const args = ['compare', '--from', src, '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--per-class', '10,20', '--seeds', '2', '--frozen-epochs', '2', '--epochs', '1', '--data-dir', dataDir, '--offline', '--json'];
      const serial = spawnSync(process.execPath, [BIN, ...args, '--workers', '1', '--out', path.join(dir, 'serial')], { encoding: 'utf8', timeout: 300_000 });
      const parallel = spawnSync(process.execPath, [BIN, ...args, '--workers', '2', '--out', path.join(dir, 'parallel')], { encoding: 'utf8', timeout: 300_000 });
      expect(serial.status, serial.stderr).toBe(0);
      expect(parallel.status, parallel.stderr).toBe(0);
      const s = JSON.parse(serial.stdout);
      const p = JSON.parse(parallel.stdout);
      expect(p.trials.map((t: { testError: number }) => t.testError)).toEqual(s.trials.map((t: { testError: number }) => t.testError));
      expect(JSON.parse(readFileSync(path.join(dir, 'parallel', 'compare.json'), 'utf8')).rows).toHaveLength(2);
      expect(existsSync(path.join(dir, 'parallel', 'report.html'))).toBe(true);
    });
  });
});
