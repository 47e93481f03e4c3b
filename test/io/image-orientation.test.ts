import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/io/image-decode.js';
import { readExifOrientation } from '../../src/io/exif-orientation.js';
import { compare, readPpm } from './ppm.js';

// exif-O.{jpg,png,webp}: one 13×9 picture saved by Pillow with EXIF orientation O; exif-O.ppm is
// Pillow's ImageOps.exif_transpose of it (format-fixtures/make.py).
const dir = fileURLToPath(new URL('./format-fixtures/', import.meta.url));

// JPEG: jpeg-js's inverse DCT against libjpeg's leaves a few levels (measured: at most 3, mean 0.2);
// a wrong turn moves whole gradients, hundreds of levels.
const CASES = [1, 2, 3, 4, 5, 6, 7, 8].flatMap((o) => [
  [o, 'png', 0],
  [o, 'webp', 0],
  [o, 'jpg', 3],
] as Array<[number, string, number]>);

describe('EXIF orientation is applied as Pillow\'s exif_transpose does', () => {
  it.each(CASES)('orientation %i in a %s', (o, ext, tolerance) => {
    const ref = readPpm(`${dir}exif-${o}${ext === 'jpg' ? '-jpg' : ''}.ppm`);
    const img = decodeImage(readFileSync(`${dir}exif-${o}.${ext}`), `exif-${o}.${ext}`);
    expect([img.width, img.height]).toEqual([ref.width, ref.height]);
    expect([img.width, img.height]).toEqual(o >= 5 ? [9, 13] : [13, 9]);
    const d = compare(img.data, ref.rgb);
    expect(d.max, `largest difference ${d.max} at byte ${d.at}, mean ${d.mean.toFixed(2)}`).toBeLessThanOrEqual(tolerance);
  });
});

describe('readExifOrientation', () => {
  const tiff = (little: boolean, tag: number, type: number, value: number): Uint8Array => {
    const b = new DataView(new ArrayBuffer(26));
    b.setUint16(0, little ? 0x4949 : 0x4d4d);
    b.setUint16(2, 42, little);
    b.setUint32(4, 8, little);
    b.setUint16(8, 1, little);
    b.setUint16(10, tag, little);
    b.setUint16(12, type, little);
    b.setUint32(14, 1, little);
    b.setUint16(18, value, little);
    return new Uint8Array(b.buffer);
  };

  it('reads both byte orders, with or without the "Exif\\0\\0" prefix', () => {
    expect(readExifOrientation(tiff(true, 0x0112, 3, 6))).toBe(6);
    expect(readExifOrientation(tiff(false, 0x0112, 3, 8))).toBe(8);
    expect(readExifOrientation(Uint8Array.from([0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff(false, 0x0112, 3, 3)]))).toBe(3);
  });

  it('ignores what is not a valid orientation instead of failing the image', () => {
    expect(readExifOrientation(tiff(true, 0x0112, 3, 9))).toBe(1);
    expect(readExifOrientation(tiff(true, 0x0112, 3, 0))).toBe(1);
    expect(readExifOrientation(tiff(true, 0x0110, 3, 6))).toBe(1); // another tag
    expect(readExifOrientation(tiff(true, 0x0112, 4, 6))).toBe(1); // LONG, not SHORT
    expect(readExifOrientation(tiff(true, 0x0112, 3, 6).subarray(0, 20))).toBe(1); // cut
    expect(readExifOrientation(new Uint8Array(0))).toBe(1);
    const far = tiff(true, 0x0112, 3, 6);
    new DataView(far.buffer).setUint32(4, 0xfffffff0, true); // IFD offset past the end
    expect(readExifOrientation(far)).toBe(1);
  });
});
