import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeImage, sniffImageFormat } from '../../src/io/image-decode.js';
import { compare, readPpm } from './ppm.js';

// Fixtures and Pillow's decoding of them (first frame, as RGB): format-fixtures/make.py.
const dir = fileURLToPath(new URL('./format-fixtures/', import.meta.url));

// [fixture, format, largest difference allowed from Pillow's pixels]
const CASES: Array<[string, string, number]> = [
  ['webp-lossless.webp', 'webp', 0],
  ['webp-alpha-lossless.webp', 'webp', 0],
  ['webp-animated.webp', 'webp', 0],
  ['webp-animated-offset.webp', 'webp', 0],
  // libwebp 1.0.2 (wasm) against Pillow's libwebp 1.6: VP8 decoding is specified to the bit.
  ['webp-lossy.webp', 'webp', 0],
  ['webp-alpha-lossy.webp', 'webp', 0],
  ['bmp-1.bmp', 'bmp', 0],
  ['bmp-4.bmp', 'bmp', 0],
  ['bmp-8.bmp', 'bmp', 0],
  ['bmp-grey.bmp', 'bmp', 0],
  ['bmp-16-555.bmp', 'bmp', 0],
  ['bmp-16-565.bmp', 'bmp', 0],
  ['bmp-24.bmp', 'bmp', 0],
  ['bmp-24-topdown.bmp', 'bmp', 0],
  ['bmp-32.bmp', 'bmp', 0],
  ['bmp-32-bitfields.bmp', 'bmp', 0],
  ['bmp-32-v5.bmp', 'bmp', 0],
  ['gif-palette.gif', 'gif', 0],
  ['gif-transparent.gif', 'gif', 0],
  ['gif-interlaced.gif', 'gif', 0],
  ['gif-animated.gif', 'gif', 0],
  ['gif-grey.gif', 'gif', 0],
  ['gif-partial.gif', 'gif', 0],
  ['gif-partial-transparent.gif', 'gif', 0],
];

describe('WebP, BMP and GIF decode to Pillow\'s pixels', () => {
  it.each(CASES)('%s', (name, format, tolerance) => {
    const bytes = readFileSync(dir + name);
    const ref = readPpm(dir + name.replace(/\.\w+$/, '.ppm'));
    expect(sniffImageFormat(bytes)).toBe(format);
    const img = decodeImage(bytes, name);
    expect([img.width, img.height, img.channels]).toEqual([ref.width, ref.height, 3]);
    const d = compare(img.data, ref.rgb);
    expect(d.max, `largest difference ${d.max} at byte ${d.at} (pixel ${Math.floor(d.at / 3)}), mean ${d.mean}`).toBeLessThanOrEqual(tolerance);
  });
});
