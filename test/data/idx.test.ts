import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { GraftError } from '../../src/errors.js';
import { maybeGunzip, parseIdx } from '../../src/data/idx.js';
import { gz, idxBytes, idxHeader } from './idx-fixtures.js';

function corruptError(fn: () => unknown): GraftError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GraftError);
    expect((e as GraftError).code).toBe('DATA_CORRUPT');
    return e as GraftError;
  }
  throw new Error('expected a DATA_CORRUPT error');
}

describe('parseIdx', () => {
  it('parses a valid file and returns a view, not a copy', () => {
    const bytes = idxBytes([3, 2, 2]);
    const { dims, data } = parseIdx(bytes, 'x.idx');
    expect(dims).toEqual([3, 2, 2]);
    expect(Array.from(data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(data.buffer).toBe(bytes.buffer);
    expect(data.byteOffset).toBe(16);
  });

  it('accepts gzip input transparently', () => {
    const { dims, data } = parseIdx(gz(idxBytes([5])), 'labels.gz');
    expect(dims).toEqual([5]);
    expect(Array.from(data)).toEqual([0, 1, 2, 3, 4]);
  });

  it('rejects a truncated file, naming the file and both sizes', () => {
    const e = corruptError(() => parseIdx(idxHeader([2, 2], 3), 'train-images'));
    expect(e.message).toContain('train-images');
    expect(e.message).toContain('need 4 data bytes but only 3');
    expect(e.message).toMatch(/download it again/);
  });

  it('rejects a header claiming 2^31 images in a 100-byte file quickly, without allocating', () => {
    const bytes = new Uint8Array(100);
    bytes.set(idxHeader([2 ** 31, 28, 28], 0));
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    const e = corruptError(() => parseIdx(bytes, 'huge'));
    expect(performance.now() - t0).toBeLessThan(50);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1024 * 1024);
    expect(e.message).toContain('2147483648, 28, 28');
    expect(e.message).toContain('truncated');
  });

  it('rejects dims whose product overflows 2^53', () => {
    const e = corruptError(() => parseIdx(idxHeader([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], 8), 'overflow'));
    expect(e.message).toContain('more than 2^53');
  });

  it('rejects a bad magic', () => {
    const bytes = idxBytes([2]);
    bytes[0] = 0x50;
    expect(corruptError(() => parseIdx(bytes, 'f')).message).toContain('0x50 0x00');
  });

  it('rejects unsupported data types', () => {
    expect(corruptError(() => parseIdx(idxBytes([2], [0, 0], 0x0d), 'f')).message).toContain('0x0d (float32)');
  });

  it('rejects 0 or more than 4 dimensions', () => {
    expect(corruptError(() => parseIdx(new Uint8Array([0, 0, 8, 0, 1, 2]), 'f')).message).toContain('0 dimensions');
    expect(corruptError(() => parseIdx(idxBytes([1, 1, 1, 1, 1]), 'f')).message).toContain('5 dimensions');
  });

  it('rejects a zero dimension', () => {
    expect(corruptError(() => parseIdx(idxHeader([4, 0, 3], 0), 'f')).message).toContain('dimension 1 is 0');
  });

  it('rejects trailing bytes', () => {
    const bytes = new Uint8Array([...idxBytes([2]), 7, 7]);
    expect(corruptError(() => parseIdx(bytes, 'f')).message).toContain('2 trailing bytes');
  });

  it('rejects files too short for the header', () => {
    expect(corruptError(() => parseIdx(new Uint8Array([0, 0]), 'f')).message).toContain('too short');
    expect(corruptError(() => parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1]), 'f')).message).toContain('needs 16 bytes');
  });

  it('rejects corrupt gzip data', () => {
    const bytes = gz(idxBytes([10]));
    bytes[bytes.length - 6] = bytes[bytes.length - 6]! ^ 0xff; // breaks the CRC
    expect(corruptError(() => parseIdx(bytes, 'f.gz')).message).toContain('could not be decompressed');
  });

  it('bounds gunzip output so a gzip bomb cannot exhaust memory', () => {
    const bomb = new Uint8Array(gzipSync(new Uint8Array(64 * 1024)));
    expect(corruptError(() => maybeGunzip(bomb, 'bomb.gz', 4096)).message).toContain('more than 4096 bytes');
    expect(maybeGunzip(bomb, 'bomb.gz').length).toBe(64 * 1024);
  });
});
