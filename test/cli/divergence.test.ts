import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { cliInProcess } from './in-process.js';

/**
 * A run the loss guard stops (NaN, or a finite loss that explodes) exits 2 with one line that says
 * so and suggests a sane rate; nothing is saved, and what was at --out stays byte for byte.
 */
const DATA = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(DATA, 'train-images-idx3-ubyte.gz')) || existsSync(path.join(DATA, 'train-images-idx3-ubyte'));
if (!haveData) console.log(`skipping divergence CLI tests: no Fashion-MNIST in ${DATA} (apt-get install dataset-fashion-mnist, or set GRAFT_DATA_DIR)`);
const ort = await loadOnnxRuntime();
if (typeof ort === 'string') console.log(`divergence CLI test on onnxruntime skipped: ${ort}`);
const engines = typeof ort === 'string' ? ['tfjs'] : ['tfjs', 'onnxruntime'];

const root = mkdtempSync(path.join(tmpdir(), 'graft-diverge-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const COMMON = ['--data-dir', DATA, '--offline', '--backend', 'wasm', '--per-class', '50'];
const TRAIN = ['train', '--task', 'fashion-mnist:exclude=sandal,shirt', '--epochs', '3', ...COMMON];

/** Every file under dir with its bytes. */
function snapshot(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(path.relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return files;
}

function expectUnchanged(dir: string, before: Map<string, Buffer>): void {
  const after = snapshot(dir);
  expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  for (const [name, bytes] of before) expect(after.get(name)!.equals(bytes), name).toBe(true);
}

describe.skipIf(!haveData)('a diverging run on the command line', () => {
  it.each(engines)('--lr 100 on %s: exit 2, one line naming the divergence and a sane rate, no run folder', async (engine) => {
    const out = path.join(root, `lr100-${engine}`);
    const r = await cliInProcess([...TRAIN, '--lr', '100', '--engine', engine, '--out', out]);
    expect(r.code).toBe(2);
    const last = r.stderr.trim().split('\n').pop()!;
    expect(last).toMatch(/^graft train: Phase "train", epoch 1: training diverged: the loss grew to .*, with sgd\(lr=100\)\. Nothing was saved to .*: these weights are not a trained model\. Try a lower learning rate, e\.g\. 0\.01\.$/);
    expect(existsSync(out)).toBe(false);
  });

  it('a NaN loss (--lr 1e30): exit 2 and a readable rate, not 1.0000000000000001e+29', async () => {
    const out = path.join(root, 'nan');
    const r = await cliInProcess([...TRAIN, '--lr', '1e30', '--engine', 'tfjs', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/graft train: Phase "train", epoch 1: the loss became NaN \(not finite\).* e\.g\. 0\.01\.\n$/);
    expect(r.stderr).not.toMatch(/e\+29/);
    expect(existsSync(out)).toBe(false);
  });

  it('--force over a finished run: the run is left byte for byte; transfer from it diverging leaves nothing either', async () => {
    const out = path.join(root, 'kept');
    expect((await cliInProcess([...TRAIN, '--epochs', '1', '--out', out])).code).toBe(0);
    const before = snapshot(out);
    expect(before.has('run.json')).toBe(true);
    const r = await cliInProcess([...TRAIN, '--lr', '100', '--out', out, '--force']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/training diverged/);
    expectUnchanged(out, before);

    const target = path.join(root, 'transfer');
    const t = await cliInProcess(['transfer', '--from', out, '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--frozen-epochs', '2', '--epochs', '2', '--frozen-lr', '1000', ...COMMON, '--out', target]);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/graft transfer: Phase "frozen", epoch \d: training diverged: .*sgd\(lr=1000\)\. Nothing was saved .* e\.g\. 0\.01\.\n$/);
    expect(existsSync(target)).toBe(false);
    expectUnchanged(out, before);
  });
});

describe.skipIf(!haveData)('--batch-size', () => {
  it('larger than the training set: trains with the whole set per step', async () => {
    const out = path.join(root, 'big-batch');
    const r = await cliInProcess([...TRAIN, '--epochs', '1', '--batch-size', '1e7', '--out', out]);
    expect(r.stderr).toContain('batch size 10000000 is more than the 400 training samples; each step uses all 400.');
    expect(r.code).toBe(0);
    expect(existsSync(path.join(out, 'run.json'))).toBe(true);
  });

  it.each(['0', '-3', '1.5', '4294967296', 'lots'])('%s is refused in one line, and no run folder is started', async (value) => {
    const out = path.join(root, `bad-batch-${value}`);
    const r = await cliInProcess([...TRAIN, `--batch-size=${value}`, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('graft train:'))).toEqual([`graft train: --batch-size needs a whole number from 1 to 2147483648 (samples per step; more than the training set uses the whole set); received "${value}". Try 32.`]);
    expect(existsSync(out)).toBe(false);
  });
});
