import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadCifar10 } from '../../src/io/cifar10-files.js';
import { CIFAR10_CLASSES, applyTask, parseTaskSpec } from '../../src/data/task.js';
import { rejectsWith } from '../helpers.js';
import { cifarBatch } from '../data/cifar-fixtures.js';
import { encodeJpeg, gradient } from './image-fixtures.js';

let root: string;
let cacheDir: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'graft-cifar10-'));
  cacheDir = path.join(root, 'cache');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('loadCifar10', () => {
  it('reads the binary batches from the folder or cifar-10-batches-bin/', async () => {
    await writeFile(path.join(root, 'test_batch.bin'), cifarBatch([3, 5, 0]));
    const ds = await loadCifar10('test', { dataDir: root, env: {} });
    expect(ds.source).toBe('cifar10/test');
    expect(Array.from(ds.y)).toEqual([3, 5, 0]);

    const sub = path.join(root, 'b', 'cifar-10-batches-bin');
    await mkdir(sub, { recursive: true });
    for (let i = 1; i <= 5; i++) await writeFile(path.join(sub, `data_batch_${i}.bin`), cifarBatch([i]));
    const train = await loadCifar10('train', { dataDir: path.join(root, 'b'), env: {} });
    expect(Array.from(train.y)).toEqual([1, 2, 3, 4, 5]);
    expect(train.sampleShape).toEqual([32, 32, 3]);
  });

  it('reads the JPEG tree with CIFAR-10 label order and class names, resizing to 32×32', async () => {
    for (const [i, c] of CIFAR10_CLASSES.entries()) {
      const dir = path.join(root, 'cifar10', 'test', c.slug);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, '0000.jpg'), encodeJpeg(i === 0 ? 16 : 32, i === 0 ? 16 : 32, gradient(32, 32)));
    }
    const ds = await loadCifar10('test', { dataDir: root, env: {}, cacheDir });
    expect(ds.sampleShape).toEqual([32, 32, 3]);
    expect(Array.from(ds.y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ds.classNames).toEqual(CIFAR10_CLASSES.map((c) => c.name));
    const task = applyTask(ds, parseTaskSpec('cifar10:binary=cat,dog'));
    expect(Array.from(task.y)).toEqual([0, 1]);
  });

  it('says where to get the data when neither layout is present', async () => {
    await writeFile(path.join(root, 'data_batch_1.bin'), cifarBatch([1]));
    const e = await rejectsWith(loadCifar10('train', { dataDir: root, env: {} }), 'DATA_NOT_FOUND');
    expect(e.message).toMatch(/lacks data_batch_2\.bin/);
    expect(e.message).toMatch(/cifar-10-binary\.tar\.gz/);
    expect(e.message).toMatch(/cifar10\/\{train,test\}\/<class>/);
    await rejectsWith(loadCifar10('test', { env: {} }), 'DATA_NOT_FOUND');
  });

  it('passes corrupt batches on as DATA_CORRUPT', async () => {
    await writeFile(path.join(root, 'test_batch.bin'), cifarBatch([3]).subarray(0, 100));
    const e = await rejectsWith(loadCifar10('test', { dataDir: root, env: {} }), 'DATA_CORRUPT');
    expect(e.message).toContain('test_batch.bin');
  });
});

describe('loadCifar10 classes option', () => {
  it('keeps only the chosen classes with their original labels (binary and tree)', async () => {
    await writeFile(path.join(root, 'test_batch.bin'), cifarBatch([3, 5, 0, 5, 9]));
    const ds = await loadCifar10('test', { dataDir: root, env: {}, classes: ['dog', 'cat'] });
    expect(Array.from(ds.y)).toEqual([3, 5, 5]);
    expect(ds.classNames.length).toBe(10);

    const tree = path.join(root, 't');
    for (const c of ['cat', 'dog']) {
      await mkdir(path.join(tree, 'test', c), { recursive: true });
      await writeFile(path.join(tree, 'test', c, '0.jpg'), encodeJpeg(32, 32, gradient(32, 32)));
    }
    const t = await loadCifar10('test', { dataDir: tree, env: {}, cacheDir, classes: ['dog', 'cat'] });
    expect(Array.from(t.y)).toEqual([3, 5]);
    expect(Array.from(applyTask(t, parseTaskSpec('cifar10:binary=dog,cat')).y)).toEqual([1, 0]);
    await rejectsWith(loadCifar10('test', { dataDir: tree, env: {}, classes: ['cow'] }), 'BAD_ARGUMENT');
    await rejectsWith(loadCifar10('test', { dataDir: tree, env: {}, cacheDir }), 'DATA_NOT_FOUND');
  });
});
