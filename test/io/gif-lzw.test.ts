import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/io/image-decode.js';
import { Rng } from '../../src/engine/rng.js';

/**
 * LZW past what the small fixtures reach: the code table filling up at 4096 entries, followed by
 * a clear code (what most encoders do) or by more 12-bit codes and no clear (a "deferred clear",
 * which the GIF spec allows). The GIFs are built here by a plain LZW encoder; Pillow decodes both
 * to the same indices (checked once by hand when this test was written).
 */

function lzwEncode(indices: Uint8Array, minCodeSize: number, clearWhenFull: boolean): Uint8Array {
  const clear = 1 << minCodeSize;
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  let size = minCodeSize + 1;
  const emit = (code: number): void => {
    buffer |= code << bits;
    bits += size;
    while (bits >= 8) {
      bytes.push(buffer & 255);
      buffer >>>= 8;
      bits -= 8;
    }
  };
  let table = new Map<string, number>();
  let next = clear + 2;
  emit(clear);
  let w = String(indices[0]);
  for (let i = 1; i < indices.length; i++) {
    const wk = `${w},${indices[i]}`;
    if (table.has(wk)) {
      w = wk;
      continue;
    }
    emit(w.includes(',') ? table.get(w)! : Number(w));
    if (next < 4096) {
      table.set(wk, next++);
      // The decoder adds each entry one code later, so it widens its codes one code later too.
      if (next > 1 << size && size < 12) size++;
    } else if (clearWhenFull) {
      emit(clear);
      table = new Map();
      next = clear + 2;
      size = minCodeSize + 1;
    }
    w = String(indices[i]);
  }
  emit(w.includes(',') ? table.get(w)! : Number(w));
  emit(clear + 1);
  if (bits > 0) bytes.push(buffer & 255);
  return Uint8Array.from(bytes);
}

function gif(width: number, height: number, palette: Uint8Array, data: Uint8Array, minCodeSize: number): Uint8Array {
  const blocks: number[] = [];
  for (let at = 0; at < data.length; at += 255) {
    const part = data.subarray(at, at + 255);
    blocks.push(part.length, ...part);
  }
  const tableBits = Math.log2(palette.length / 3) - 1;
  const le = (n: number): number[] => [n & 255, n >> 8];
  return Uint8Array.from([
    ...Array.from('GIF89a', (c) => c.charCodeAt(0)), ...le(width), ...le(height), 0x80 | tableBits, 0, 0,
    ...palette,
    0x2c, ...le(0), ...le(0), ...le(width), ...le(height), 0,
    minCodeSize, ...blocks, 0, 0x3b,
  ]);
}

describe('GIF LZW when the code table fills', () => {
  const width = 320;
  const height = 240;
  const rng = new Rng(5);
  // Noise in 4 colours: 76 800 pixels take about 20 000 codes, so the table fills several times.
  const indices = Uint8Array.from({ length: width * height }, () => rng.int(4));
  const palette = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 250, 250, 250]);

  it.each([
    ['a clear code when full', true],
    ['no clear code (deferred clear)', false],
  ])('%s', (_, clearWhenFull) => {
    const img = decodeImage(gif(width, height, palette, lzwEncode(indices, 2, clearWhenFull), 2), 'noise.gif');
    expect([img.width, img.height]).toEqual([width, height]);
    for (let i = 0; i < indices.length; i++) {
      const k = indices[i]!;
      if (img.data[3 * i] !== palette[3 * k] || img.data[3 * i + 1] !== palette[3 * k + 1] || img.data[3 * i + 2] !== palette[3 * k + 2]) {
        throw new Error(`pixel ${i} differs: index ${k}`);
      }
    }
  });
});
