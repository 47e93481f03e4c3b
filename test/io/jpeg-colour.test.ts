import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/io/image-decode.js';

// Fixtures written by cjpeg, references decoded by djpeg with libjpeg's defaults (jpeg-fixtures/make.py):
// the pixels Pillow, TensorFlow (with its accurate IDCT) and browsers give for these files.
const dir = fileURLToPath(new URL('./jpeg-fixtures/', import.meta.url));

/** RGB bytes of a binary PPM (P6) or PGM (P5, greys repeated to RGB). */
function readNetpbm(file: string): { width: number; height: number; rgb: Uint8Array } {
  const bytes = readFileSync(file);
  const fields: string[] = [];
  let at = 0;
  while (fields.length < 4) {
    while (/\s/.test(String.fromCharCode(bytes[at]!))) at++;
    let field = '';
    while (!/\s/.test(String.fromCharCode(bytes[at]!))) field += String.fromCharCode(bytes[at++]!);
    fields.push(field);
  }
  const [magic, w, h] = fields;
  const [width, height] = [Number(w), Number(h)];
  const body = bytes.subarray(at + 1);
  if (magic === 'P6') return { width, height, rgb: new Uint8Array(body) };
  return { width, height, rgb: Uint8Array.from({ length: width * height * 3 }, (_, i) => body[Math.floor(i / 3)]!) };
}

function difference(a: ArrayLike<number>, b: ArrayLike<number>): { mean: number; max: number } {
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / a.length, max };
}

// [fixture, does jpeg-js on its own land far from libjpeg (nearest chroma, or RGB taken for YCbCr)?]
const CASES: Array<[string, boolean]> = [
  ['ycc-420', true],
  ['ycc-420-progressive', true],
  ['ycc-422', true],
  ['ycc-440', true],
  ['ycc-444', false],
  ['ycc-420-narrow', false], // 2 chroma samples across: libjpeg repeats them too
  ['ycc-420-adobe', true],
  ['rgb-adobe', true],
  ['grey', false],
];

describe('JPEG colour as libjpeg makes it', () => {
  it.each(CASES)('%s decodes to libjpeg\'s pixels within its IDCT\'s rounding', (name, jpegJsFar) => {
    const bytes = readFileSync(`${dir}${name}.jpg`);
    const ref = readNetpbm(`${dir}${name}.ppm`);
    const img = decodeImage(bytes, `${name}.jpg`);
    expect([img.width, img.height, img.channels]).toEqual([ref.width, ref.height, 3]);
    // What remains is jpeg-js's inverse DCT against libjpeg's: a few levels at most.
    const d = difference(img.data, ref.rgb);
    expect(d.max).toBeLessThanOrEqual(3);
    expect(d.mean).toBeLessThan(0.4);
    // The fixture exercises the colour path: jpeg-js's own colour is far off where it should be.
    const plain = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false }).data;
    expect(difference(plain, ref.rgb).max > 20).toBe(jpegJsFar);
  });
});
