import { cliCapture } from './in-process.js';
import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadFashionMnist } from '../../src/io/dataset-files.js';

const DATA = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(DATA, 't10k-images-idx3-ubyte.gz'));
if (!haveData) console.log(`skipping evaluate --data-dir tests: no gzipped Fashion-MNIST in ${DATA}`);

const root = mkdtempSync(path.join(tmpdir(), 'graft-evaluate-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cli = cliCapture;

describe('help texts name what is accepted', () => {
  it.each(['evaluate', 'predict'])('graft %s --help names every model format', async (command) => {
    const { stdout } = await cli([command, '--help']);
    for (const format of ['run directory', 'model.json', '.keras', '.h5']) expect(stdout).toContain(format);
  });

  it('graft run --help lists the fashion-mnist, cifar10, folder: and csv: task forms', async () => {
    const { stdout } = await cli(['run', '--help']);
    for (const form of ['fashion-mnist:binary=', 'cifar10', 'folder:PATH', 'csv:FILE']) expect(stdout).toContain(form);
  });
});

describe.skipIf(!haveData)('graft evaluate --data-dir needs only the test files', () => {
  const testOnly = path.join(root, 'test-only');

  it('loading the test split reads only t10k files; the training split names only its own missing files', async () => {
    mkdirSync(testOnly, { recursive: true });
    for (const f of ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) copyFileSync(path.join(DATA, f), path.join(testOnly, f));
    expect((await loadFashionMnist('test', { dataDir: testOnly })).y.length).toBe(10_000);
    const e = await loadFashionMnist('train', { dataDir: testOnly }).catch((x: Error) => x);
    expect((e as Error).message).toContain('lacks train-images-idx3-ubyte, train-labels-idx1-ubyte (each may also end in .gz)');
    // An empty folder: the split's own files first, the other split's named too.
    const empty = path.join(root, 'empty');
    mkdirSync(empty);
    const e2 = await loadFashionMnist('train', { dataDir: empty }).catch((x: Error) => x);
    expect((e2 as Error).message).toContain('lacks train-images-idx3-ubyte, train-labels-idx1-ubyte (and, for the test set, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte) (each may also end in .gz)');
    const e3 = await loadFashionMnist('test', { dataDir: empty }).catch((x: Error) => x);
    expect((e3 as Error).message).toContain('lacks t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (and, for training, train-images-idx3-ubyte, train-labels-idx1-ubyte) (each may also end in .gz)');
  });

  it('a model trained elsewhere is scored from a folder holding only the test files', async () => {
    const run = path.join(root, 'run');
    const t = await cli(['train', '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--per-class', '10', '--epochs', '1', '--data-dir', DATA, '--offline', '--backend', 'wasm', '--out', run]);
    expect(t.code, t.stderr).toBe(0);
    const r = await cli(['evaluate', '--model', run, '--data-dir', testOnly, '--offline', '--json', '--backend', 'wasm']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).count).toBe(2000);
  });
});
