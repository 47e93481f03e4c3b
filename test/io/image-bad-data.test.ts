import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GraftError } from '../../src/errors.js';
import { decodeImage } from '../../src/io/image-decode.js';
import { thrown } from '../helpers.js';

const dir = fileURLToPath(new URL('./format-fixtures/', import.meta.url));
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(dir + name));
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The error decodeImage throws, asserted to be graft's DATA_CORRUPT naming the file. */
function refusal(bytes: Uint8Array, file: string): string {
  const e = thrown(() => decodeImage(bytes, file));
  expect(e).toBeInstanceOf(GraftError);
  expect(e.code).toBe('DATA_CORRUPT');
  expect(e.message).toContain(file);
  return e.message;
}

describe('files that are not images say what they are, and are not called damaged', () => {
  it.each([
    ['holiday.jpg', text('Dear all, photos to follow\n'), 'a text file'],
    ['empty.png', new Uint8Array(0), 'an empty file'],
    ['page.webp', text('<!DOCTYPE html><html><body>404</body></html>'), 'an HTML page'],
    ['labels.gif', text('{"cat": 0}'), 'a JSON file'],
    ['archive.bmp', Uint8Array.from([0x50, 0x4b, 3, 4, 20, 0, 0, 0]), 'a zip archive'],
    ['train.jpg', Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28]), 'an IDX file (Fashion-MNIST/MNIST format)'],
  ])('%s', (file, bytes, kind) => {
    const message = refusal(bytes, file);
    expect(message).toContain(`${file} is ${kind}, not an image`);
    expect(message).not.toMatch(/damaged|delete|remove/i);
  });
});

describe('images in formats graft does not decode are named, with the conversion to make', () => {
  it.each([
    ['IMG_0001.jpg', Uint8Array.from([0, 0, 0, 0x18, ...text('ftypheic'), 0, 0, 0, 0]), 'a HEIC image'],
    ['scan.png', Uint8Array.from([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0]), 'a TIFF image'],
    ['logo.png', text('<svg xmlns="http://www.w3.org/2000/svg"></svg>'), 'an SVG image'],
  ])('%s', (file, bytes, kind) => {
    const message = refusal(bytes, file);
    expect(message).toContain(`${file} is ${kind}, a format graft does not decode. Convert it to PNG, JPEG, WebP, BMP or GIF`);
    expect(message).not.toMatch(/damaged|not an image/);
  });
});

describe('damaged images are refused naming the file and the damage', () => {
  const images = ['webp-lossy.webp', 'webp-lossless.webp', 'webp-alpha-lossy.webp', 'webp-animated.webp', 'bmp-4.bmp', 'bmp-24.bmp', 'bmp-16-565.bmp', 'gif-palette.gif', 'gif-interlaced.gif'];

  it.each(images)('%s cut anywhere: an image or DATA_CORRUPT, never a raw error', (name) => {
    const whole = fixture(name);
    let refused = 0;
    for (let n = 1; n < whole.length; n++) {
      try {
        const img = decodeImage(whole.subarray(0, n), name);
        expect(img.data.length).toBe(img.width * img.height * img.channels);
      } catch (e) {
        expect(e, `cut at ${n} of ${whole.length}: ${(e as Error).message}`).toBeInstanceOf(GraftError);
        expect((e as GraftError).message).toContain(name);
        refused++;
      }
    }
    // Every cut loses pixel data (a GIF's trailer byte and the final sub-block terminator are not pixels).
    expect(refused).toBeGreaterThanOrEqual(whole.length - 3);
  });

  it('a truncated file says so', () => {
    expect(refusal(fixture('bmp-24.bmp').subarray(0, 200), 'cut.bmp')).toMatch(/truncated/);
    expect(refusal(fixture('gif-palette.gif').subarray(0, 150), 'cut.gif')).toMatch(/truncated|ends/);
    expect(refusal(fixture('webp-lossy.webp').subarray(0, 100), 'cut.webp')).toMatch(/truncated/);
    expect(refusal(fixture('webp-lossy.webp').subarray(0, 100), 'cut.webp')).toMatch(/damaged/);
  });

  it('a GIF whose screen says 0×0 shows its first frame, as in Pillow', () => {
    const gif = fixture('gif-palette.gif').slice();
    new DataView(gif.buffer).setUint32(6, 0, true);
    const img = decodeImage(gif, 'zero-screen.gif');
    expect([img.width, img.height]).toEqual([13, 9]);
    expect(Array.from(img.data)).toEqual(Array.from(decodeImage(fixture('gif-palette.gif'), 'gif-palette.gif').data));
  });

  it('BMP compression graft does not read is named', () => {
    const rle = fixture('bmp-8.bmp').slice();
    new DataView(rle.buffer).setUint32(30, 1, true);
    expect(refusal(rle, 'rle.bmp')).toMatch(/BI_RLE8 compression, which graft does not read/);
  });
});

describe('headers claiming huge images are refused before anything is allocated', () => {
  const patched = (name: string, edit: (v: DataView) => void): Uint8Array => {
    const bytes = fixture(name).slice();
    edit(new DataView(bytes.buffer));
    return bytes;
  };

  it.each([
    ['bmp-24.bmp', (v: DataView) => (v.setInt32(18, 100_000, true), v.setInt32(22, 100_000, true)), /100000×100000.*limit/],
    ['bmp-24.bmp', (v: DataView) => (v.setInt32(18, 100_000, true), v.setInt32(22, -100_000, true)), /100000×100000.*limit/],
    ['bmp-24.bmp', (v: DataView) => (v.setInt32(18, 6000, true), v.setInt32(22, 6000, true)), /6000×6000.*file is 414 bytes/],
    ['gif-palette.gif', (v: DataView) => (v.setUint16(6, 65535, true), v.setUint16(8, 65535, true)), /65535×65535.*limit/],
    ['webp-lossless.webp', (v: DataView) => v.setUint32(21, ((16383 << 14) | 16383) >>> 0, true), /16384×16384.*limit/],
    ['webp-lossy.webp', (v: DataView) => (v.setUint16(26, 6000, true), v.setUint16(28, 6000, true)), /6000×6000 pixels \(140625 macroblocks\) but its mode data is \d+ bytes, which can code at most/],
  ] as Array<[string, (v: DataView) => void, RegExp]>)('%s %#', (name, edit, expected) => {
    const started = performance.now();
    expect(refusal(patched(name, edit), name)).toMatch(expected);
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('a WebP extended header claiming 100000×100000 and a GIF frame beyond what its LZW data can code', () => {
    const vp8x = Uint8Array.from([...text('RIFF'), 22, 0, 0, 0, ...text('WEBPVP8X'), 10, 0, 0, 0, 0, 0, 0, 0, 0x9f, 0x86, 0x01, 0x9f, 0x86, 0x01]);
    expect(refusal(vp8x, 'huge.webp')).toMatch(/100000×100000.*limit/);
    const gif = fixture('gif-palette.gif').slice();
    const descriptor = gif.indexOf(0x2c, 13 + 3 * 32);
    new DataView(gif.buffer).setUint16(6, 6000, true);
    new DataView(gif.buffer).setUint16(8, 6000, true);
    new DataView(gif.buffer).setUint16(descriptor + 5, 6000, true);
    new DataView(gif.buffer).setUint16(descriptor + 7, 6000, true);
    expect(refusal(gif, 'huge.gif')).toMatch(/6000×6000 pixels but its \d+ bytes of LZW data can code at most/);
  });

  it('a GIF screen or WebP canvas far larger than the first frame its data codes', () => {
    const gif = fixture('gif-palette.gif').slice();
    new DataView(gif.buffer).setUint16(6, 6000, true);
    new DataView(gif.buffer).setUint16(8, 6000, true);
    expect(refusal(gif, 'screen.gif')).toMatch(/image \(screen and first frame together\) is 6000×6000 pixels but its \d+ bytes of LZW data/);
    const offset = fixture('gif-palette.gif').slice();
    new DataView(offset.buffer).setUint16(offset.indexOf(0x2c, 13 + 3 * 32) + 1, 60000, true); // frame far to the right
    expect(refusal(offset, 'offset.gif')).toMatch(/60013×9 pixels/);
    const webp = fixture('webp-animated.webp').slice();
    webp.set([0x6f, 0x17, 0, 0x6f, 0x17, 0], 24); // VP8X canvas 6000×6000
    expect(refusal(webp, 'canvas.webp')).toMatch(/canvas is 6000×6000 pixels around a first frame of 13×9, more than a \d+-byte file can describe/);
  });
});
