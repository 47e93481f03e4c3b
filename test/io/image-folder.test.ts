import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadImageFolder } from '../../src/io/image-folder.js';
import { rejectsWith } from '../helpers.js';
import { encodeJpeg, encodePng, gradient } from './image-fixtures.js';

let root: string;
let images: string;
let cacheDir: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'graft-image-folder-'));
  images = path.join(root, 'images');
  cacheDir = path.join(root, 'cache');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function put(rel: string, bytes: Uint8Array): Promise<void> {
  await mkdir(path.dirname(path.join(images, rel)), { recursive: true });
  await writeFile(path.join(images, rel), bytes);
}

/** cat: two PNGs (8×4 and 4×2); dog: a JPEG (8×8) and a grey PNG; plus a README to ignore. */
async function mixedFolder(): Promise<void> {
  await put('cat/a.png', encodePng(8, 4, gradient(8, 4)));
  await put('cat/b.PNG', encodePng(4, 2, new Uint8Array(4 * 2 * 3).fill(90)));
  await put('dog/c.jpg', encodeJpeg(8, 8, new Uint8Array(8 * 8 * 3).fill(200)));
  await put('dog/d.png', encodePng(3, 3, new Uint8Array(27).fill(40), true));
  await put('dog/README.txt', new TextEncoder().encode('not an image'));
}

describe('loadImageFolder', () => {
  it('loads mixed PNG/JPEG, labels by sorted folder and resizes to the first image', async () => {
    await mixedFolder();
    const ds = await loadImageFolder(images, { cacheDir });
    expect(ds.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(ds.y)).toEqual([0, 0, 1, 1]);
    expect(ds.sampleShape).toEqual([4, 8, 3]);
    expect(ds.pixelRange).toBe('raw');
    expect(ds.x.length).toBe(4 * 4 * 8 * 3);
    const size = 4 * 8 * 3;
    // first image unchanged: pixel (x=3, y=2) = (48, 32, 128)
    const o = (2 * 8 + 3) * 3;
    expect([ds.x[o], ds.x[o + 1], ds.x[o + 2]]).toEqual([48, 32, 128]);
    expect(ds.x.subarray(size, 2 * size).every((v) => v === 90)).toBe(true);
    expect(ds.x.subarray(2 * size, 3 * size).every((v) => Math.abs(v - 200) <= 2)).toBe(true);
    expect(ds.x.subarray(3 * size, 4 * size).every((v) => v === 40)).toBe(true); // grey → RGB
  });

  it('honours size, channels and an explicit class order, reporting progress', async () => {
    await mixedFolder();
    const progress: number[] = [];
    const ds = await loadImageFolder(images, { size: [6, 5], channels: 1, classes: ['dog', 'cat'], cacheDir, onProgress: (d) => progress.push(d) });
    expect(ds.sampleShape).toEqual([6, 5, 1]);
    expect(ds.classNames).toEqual(['dog', 'cat']);
    expect(Array.from(ds.y)).toEqual([0, 0, 1, 1]);
    expect(progress).toEqual([1, 2, 3, 4]);
    expect(ds.x.subarray(30, 60).every((v) => v === 40)).toBe(true);
  });

  it('reuses the decode cache, misses when a file changes, and rebuilds a corrupt cache', async () => {
    await mixedFolder();
    const first = await loadImageFolder(images, { cacheDir });
    const [entry] = await readdir(cacheDir);
    expect(entry).toMatch(/^[0-9a-f]{64}\.bin$/);

    let decoded = 0;
    const hit = await loadImageFolder(images, { cacheDir, onProgress: () => decoded++ });
    expect(decoded).toBe(0);
    expect(Array.from(hit.x)).toEqual(Array.from(first.x));
    expect(hit.classNames).toEqual(first.classNames);

    await writeFile(path.join(cacheDir, entry!), new Uint8Array(100));
    const rebuilt = await loadImageFolder(images, { cacheDir, onProgress: () => decoded++ });
    expect(decoded).toBe(4);
    expect(Array.from(rebuilt.x)).toEqual(Array.from(first.x));
    expect(await readdir(cacheDir)).toEqual([entry]);

    await utimes(path.join(images, 'cat/a.png'), new Date(), new Date(Date.now() + 5000));
    decoded = 0;
    await loadImageFolder(images, { cacheDir, onProgress: () => decoded++ });
    expect(decoded).toBe(4);
    expect((await readdir(cacheDir)).length).toBe(2);

    decoded = 0;
    await loadImageFolder(images, { cacheDir, cache: false, onProgress: () => decoded++ });
    expect(decoded).toBe(4);
  });

  it('reports a missing or empty folder, no class subfolders and an empty class', async () => {
    await rejectsWith(loadImageFolder(path.join(root, 'nope'), { cacheDir }), 'DATA_NOT_FOUND');
    await mkdir(images);
    expect((await rejectsWith(loadImageFolder(images, { cacheDir }), 'DATA_NOT_FOUND')).message).toMatch(/is empty/);
    await put('loose.png', encodePng(2, 2, gradient(2, 2)));
    expect((await rejectsWith(loadImageFolder(images, { cacheDir }), 'DATA_NOT_FOUND')).message).toMatch(/no class subfolders/);
    await put('cat/a.png', encodePng(2, 2, gradient(2, 2)));
    await put('dog/notes.txt', new TextEncoder().encode('x'));
    expect((await rejectsWith(loadImageFolder(images, { cacheDir }), 'DATA_NOT_FOUND')).message).toMatch(/dog holds no images/);
    expect((await rejectsWith(loadImageFolder(images, { cacheDir, classes: ['cat', 'cow'] }), 'DATA_NOT_FOUND')).message).toMatch(/"cow".*\[cat, dog\]/);
    await rejectsWith(loadImageFolder(images, { cacheDir, size: [0, 3] }), 'BAD_ARGUMENT');
  });

  it('names an unreadable image', async () => {
    await put('cat/a.png', encodePng(2, 2, gradient(2, 2)));
    await put('dog/broken.jpg', new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0]));
    const e = await rejectsWith(loadImageFolder(images, { cacheDir }), 'DATA_CORRUPT');
    expect(e.message).toContain(path.join('dog', 'broken.jpg'));
    expect(await readdir(root)).not.toContain('cache');
  });
});
