import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// onnxruntime-node 1.30's telemetry client writes mat-debug-<pid>.log and .ses into the temp folder,
// a device id and database into <cache>/Microsoft/DeveloperTools/.onnxruntime, and :memory:.ses
// into the working folder when the cache cannot be written. A graft process must leave none of them.

const BIN = path.resolve(__dirname, '../../bin/graft.js');
const DATA = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(DATA, 'train-images-idx3-ubyte.gz')) || existsSync(path.join(DATA, 'train-images-idx3-ubyte'));
const haveOrt = (() => {
  try {
    createRequire(import.meta.url).resolve('onnxruntime-node');
    return true;
  } catch {
    return false;
  }
})();
if (!haveData || !haveOrt) console.log(`skipping onnxruntime side-effect tests: ${haveData ? 'onnxruntime-node is not installed' : `no Fashion-MNIST in ${DATA}`}`);

const root = mkdtempSync(path.join(tmpdir(), 'graft-ort-fx-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every file and folder under dir, relative to it. */
function listAll(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

/**
 * Runs graft in a child with empty temp, home, cache and working folders and an environment
 * without ORT_DISABLE_TELEMETRY or CI markers (onnxruntime stays quiet under CI by itself, which
 * would hide the files this test looks for). Returns what each folder gained.
 */
function runIsolated(name: string, cacheWritable: boolean, args: (out: string) => string[]): { gained: Record<string, string[]>; stderr: string } {
  const base = path.join(root, name);
  const dirs = { tmp: path.join(base, 'tmp'), home: path.join(base, 'home'), cache: path.join(base, 'cache'), cwd: path.join(base, 'cwd') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const out = path.join(base, 'out');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TMPDIR: dirs.tmp,
    HOME: cacheWritable ? dirs.home : '/dev/null',
    // A path below a plain file cannot be created: onnxruntime then falls back to ':memory:'.
    XDG_CACHE_HOME: cacheWritable ? dirs.cache : '/dev/null/cache',
  };
  const r = spawnSync(process.execPath, [BIN, ...args(out)], { cwd: dirs.cwd, env, encoding: 'utf8', timeout: 300_000 });
  expect(r.status, r.stderr).toBe(0);
  return { gained: Object.fromEntries(Object.entries(dirs).map(([k, d]) => [k, listAll(d)])), stderr: r.stderr };
}

const common = ['--data-dir', DATA, '--offline', '--engine', 'onnxruntime', '--backend', 'wasm', '--json'];
const nothing = { tmp: [], home: [], cache: [], cwd: [] };

describe.skipIf(!haveData || !haveOrt)('training on onnxruntime leaves no files outside --out', () => {
  it('graft train: nothing in the temp, home, cache or working folder', () => {
    const { gained, stderr } = runIsolated('train', true, (out) => ['train', '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--epochs', '1', '--per-class', '30', '--out', out, ...common]);
    expect(gained).toEqual(nothing);
    expect(stderr).toBe('');
  });

  it('graft train with an unwritable cache folder: no :memory:.ses in the working folder', () => {
    const { gained, stderr } = runIsolated('no-cache', false, (out) => ['train', '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--epochs', '1', '--per-class', '30', '--out', out, ...common]);
    expect(gained).toEqual(nothing);
    expect(stderr).toBe('');
  });

  it('graft compare with worker threads (which cannot set the process environment themselves)', () => {
    const source = path.join(root, 'source');
    const trained = spawnSync(process.execPath, [BIN, 'train', '--task', 'fashion-mnist:exclude=tshirt-top,sandal', '--epochs', '1', '--per-class', '20', '--out', source, '--engine', 'tfjs', '--data-dir', DATA, '--offline', '--backend', 'wasm', '--json'], { encoding: 'utf8', timeout: 300_000 });
    expect(trained.status).toBe(0);
    const { gained, stderr } = runIsolated('compare', true, (out) => ['compare', '--from', source, '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--per-class', '10', '--seeds', '2', '--workers', '2', '--frozen-epochs', '1', '--epochs', '1', '--early-stopping', 'off', '--out', out, ...common]);
    expect(gained).toEqual(nothing);
    expect(stderr).toBe('');
  });
});
