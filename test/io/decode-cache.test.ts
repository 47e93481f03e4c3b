import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  type DecodedImages,
  decodeCacheDir,
  decodeCacheKey,
  encodeDecodedImages,
  parseDecodedImages,
  readDecodeCache,
  writeDecodeCache,
} from '../../src/io/decode-cache.js';
import { GraftError } from '../../src/errors.js';
import { rejectsWith } from '../helpers.js';
import { deadPid, injectFault, snapshot } from './fault-helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'graft-decode-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sample: DecodedImages = {
  pixels: Uint8Array.from({ length: 2 * 2 * 3 * 3 }, (_, i) => i * 7),
  labels: Int32Array.from([0, 1, 1]),
  classNames: ['cat', 'dog'],
  sampleShape: [2, 3, 2],
};

describe('decode cache', () => {
  it('puts the cache under XDG_CACHE_HOME, else ~/.cache', () => {
    expect(decodeCacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/h' })).toBe('/x/cache/graft/decoded');
    expect(decodeCacheDir({ HOME: '/h' })).toBe('/h/.cache/graft/decoded');
  });

  it('keys change with the file list, sizes, mtimes and options but not the listing order', () => {
    const files = [
      { path: 'a/1.png', size: 10, mtimeMs: 1 },
      { path: 'b/2.jpg', size: 20, mtimeMs: 2 },
    ];
    const k = decodeCacheKey(files, { size: [32, 32] });
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(decodeCacheKey([...files].reverse(), { size: [32, 32] })).toBe(k);
    expect(decodeCacheKey(files, { size: [64, 64] })).not.toBe(k);
    expect(decodeCacheKey([files[0]!, { ...files[1]!, mtimeMs: 3 }], { size: [32, 32] })).not.toBe(k);
    expect(decodeCacheKey([files[0]!, { ...files[1]!, size: 21 }], { size: [32, 32] })).not.toBe(k);
    expect(decodeCacheKey([files[0]!], { size: [32, 32] })).not.toBe(k);
  });

  it('round-trips through a file', async () => {
    const file = await writeDecodeCache(dir, 'k1', sample);
    expect(path.basename(file)).toBe('k1.bin');
    const back = await readDecodeCache(dir, 'k1');
    expect(back).toEqual({ ...sample, classNames: ['cat', 'dog'] });
    expect(await readDecodeCache(dir, 'absent')).toBeUndefined();
  });

  it('deletes a corrupt or truncated file instead of trusting it', async () => {
    const bytes = encodeDecodedImages(sample);
    const flipped = bytes.slice();
    flipped[flipped.length - 40] = flipped[flipped.length - 40]! ^ 1;
    for (const [key, data] of [
      ['flip', flipped],
      ['cut', bytes.subarray(0, bytes.length - 5)],
      ['junk', new TextEncoder().encode('not a cache file at all, no no no no no no no no')],
    ] as const) {
      await writeFile(path.join(dir, `${key}.bin`), data);
      expect(await readDecodeCache(dir, key)).toBeUndefined();
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('names the problem when parsing directly', () => {
    const bytes = encodeDecodedImages(sample);
    try {
      parseDecodedImages(bytes.subarray(0, bytes.length - 1), '/c/x.bin');
      throw new Error('expected an error');
    } catch (e) {
      expect(e).toBeInstanceOf(GraftError);
      expect((e as GraftError).code).toBe('DATA_CORRUPT');
      expect((e as GraftError).message).toMatch(/\/c\/x\.bin.*bytes/);
    }
  });

  it('never reads a killed writer’s temp file, and the next write deletes such leftovers', async () => {
    const dead = deadPid();
    const bytes = encodeDecodedImages(sample);
    // A complete-looking temp of k1 from a dead writer, a half one of k2, and one still being written.
    await writeFile(path.join(dir, `.k1.bin.tmp-${dead}-aaaaaaaaaaaa`), bytes);
    await writeFile(path.join(dir, `.k2.bin.tmp-${dead}-bbbbbbbbbbbb`), bytes.subarray(0, 10));
    const live = `.k3.bin.tmp-${process.pid}-cccccccccccc`;
    await writeFile(path.join(dir, live), bytes.subarray(0, 10));
    expect(await readDecodeCache(dir, 'k1')).toBeUndefined();
    await writeDecodeCache(dir, 'k4', sample);
    expect((await readdir(dir)).sort()).toEqual([live, 'k4.bin'].sort());
  });

  it('a full disk while replacing a cache file: WRITE_FAILED naming it, the old file byte-identical, no temp left', async () => {
    const file = await writeDecodeCache(dir, 'k1', sample);
    const before = await snapshot(dir);
    const undo = injectFault('write', 'ENOSPC');
    try {
      const e = await rejectsWith(writeDecodeCache(dir, 'k1', { ...sample, labels: Int32Array.from([1, 1, 0]) }), 'WRITE_FAILED');
      expect(e.message).toContain(`Cannot write ${file}: no space left`);
      expect(e.message).toContain('Free some space');
    } finally {
      undo();
    }
    expect(await snapshot(dir)).toEqual(before);
    expect((await readDecodeCache(dir, 'k1'))?.labels).toEqual(sample.labels);
  });
});
