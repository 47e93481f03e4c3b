import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadCifar10 } from '../../src/io/cifar10-files.js';
import { applyTask, parseTaskSpec } from '../../src/data/task.js';
import { classCounts } from '../../src/data/dataset.js';

/** The shared CIFAR-10 JPEG archive, next to the repository (../shared/data). */
const TAR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/cifar10-jpeg.tar');
const present = existsSync(TAR);
if (!present) console.log(`cifar10-jpeg.test: skipped: ${TAR} does not exist`);

let root = '';
beforeAll(async () => {
  if (!present) return;
  // Extract outside the repository, only the two classes the task needs.
  root = await mkdtemp(path.join(tmpdir(), 'graft-cifar10-jpeg-'));
  await promisify(execFile)('tar', ['-xf', TAR, '-C', root, 'cifar10/test/cat', 'cifar10/test/dog']);
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('CIFAR-10 JPEG tree (real data)', () => {
  it.skipIf(!present)('loads cifar10:binary=cat,dog test images and reuses the decode cache', async () => {
    const tree = path.join(root, 'cifar10', 'test');
    expect((await readdir(tree)).sort()).toEqual(['cat', 'dog']);

    const cacheDir = path.join(root, 'cache');
    const full = await loadCifar10('test', { dataDir: root, env: {}, cacheDir, classes: ['cat', 'dog'] });
    expect(full.sampleShape).toEqual([32, 32, 3]);
    expect(classCounts(full)).toEqual([0, 0, 0, 1000, 0, 1000, 0, 0, 0, 0]);
    const task = applyTask(full, parseTaskSpec('cifar10:binary=cat,dog'));
    expect(task.y.length).toBe(2000);
    expect(task.classNames).toEqual(['Cat', 'Dog']);
    expect(classCounts(task)).toEqual([1000, 1000]);
    expect(task.x.every((v) => v >= 0 && v <= 255 && Number.isInteger(v))).toBe(true);
    expect(task.x.some((v) => v > 200)).toBe(true);

    let decoded = 0;
    const again = await loadCifar10('test', { dataDir: root, env: {}, cacheDir, classes: ['cat', 'dog'], onProgress: () => decoded++ });
    expect(decoded).toBe(0);
    expect(Array.from(again.x.subarray(0, 5000))).toEqual(Array.from(full.x.subarray(0, 5000)));
    expect(Array.from(again.y)).toEqual(Array.from(full.y));

    // Without `classes`, the eight missing class folders are reported by name.
    const e = await loadCifar10('test', { dataDir: root, env: {}, cacheDir }).catch((err: unknown) => err);
    expect((e as Error).message).toMatch(/no class subfolder\(s\) "airplane"/);
  });
});
