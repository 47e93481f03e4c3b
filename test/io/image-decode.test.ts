import { describe, expect, it } from 'vitest';
import { decodeImage, sniffImageFormat } from '../../src/io/image-decode.js';
import { GraftError } from '../../src/errors.js';
import { encodeJpeg, encodePng, gradient } from './image-fixtures.js';
import { thrown } from '../helpers.js';


describe('decodeImage', () => {
  it('decodes an RGB PNG exactly and a grey PNG as one channel', () => {
    const rgb = gradient(5, 3);
    const img = decodeImage(encodePng(5, 3, rgb), 'a.png');
    expect(img).toMatchObject({ width: 5, height: 3, channels: 3 });
    expect(Array.from(img.data)).toEqual(Array.from(rgb));
    const g = decodeImage(encodePng(5, 3, rgb, true), 'g.png');
    expect(g.channels).toBe(1);
    expect(g.data.length).toBe(15);
  });

  it('decodes a JPEG close to its source, by content not by name', () => {
    const rgb = new Uint8Array(8 * 8 * 3).fill(100);
    const bytes = encodeJpeg(8, 8, rgb);
    expect(sniffImageFormat(bytes)).toBe('jpeg');
    const img = decodeImage(bytes, 'misnamed.png');
    expect(img).toMatchObject({ width: 8, height: 8, channels: 3 });
    for (const v of img.data) expect(Math.abs(v - 100)).toBeLessThanOrEqual(2);
  });

  it('reports corrupt and unknown files as DATA_CORRUPT naming the file', () => {
    const png = encodePng(4, 4, gradient(4, 4));
    const e1 = thrown(() => decodeImage(png.subarray(0, 40), '/x/cut.png'));
    expect(e1.code).toBe('DATA_CORRUPT');
    expect(e1.message).toContain('/x/cut.png');
    const jpg = encodeJpeg(16, 16, gradient(16, 16));
    const e2 = thrown(() => decodeImage(jpg.subarray(0, jpg.length / 2), '/x/cut.jpg'));
    expect(e2.code).toBe('DATA_CORRUPT');
    expect(e2.message).toContain('/x/cut.jpg');
    const e3 = thrown(() => decodeImage(new TextEncoder().encode('hello'), 'notes.jpg'));
    expect(e3.message).toMatch(/^notes\.jpg is a text file, not an image/);
  });

  it('refuses a header claiming a huge image before allocating', () => {
    const png = encodePng(4, 4, gradient(4, 4)).slice();
    new DataView(png.buffer).setUint32(16, 100_000, false);
    new DataView(png.buffer).setUint32(20, 100_000, false);
    expect(thrown(() => decodeImage(png, 'huge.png')).message).toMatch(/100000×100000.*limit/);
    const jpg = encodeJpeg(8, 8, gradient(8, 8)).slice();
    // patch the SOF0 frame's height and width to 60000 × 60000
    const sof = jpg.findIndex((b, i) => b === 0xff && jpg[i + 1] === 0xc0);
    jpg.set([0xea, 0x60, 0xea, 0x60], sof + 5);
    expect(thrown(() => decodeImage(jpg, 'huge.jpg')).message).toMatch(/60000×60000.*limit/);
  });
});
