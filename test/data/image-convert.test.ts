import { describe, expect, it } from 'vitest';
import { centreCropBox, fitImage, toBytes, toRgb } from '../../src/data/image-convert.js';
import type { RawImage } from '../../src/data/image.js';

const grey: RawImage = { width: 2, height: 1, channels: 1, data: new Uint8Array([10, 200]) };

describe('toRgb', () => {
  it('copies grey into three channels and drops alpha', () => {
    expect(Array.from(toRgb(grey).data)).toEqual([10, 10, 10, 200, 200, 200]);
    const rgba: RawImage = { width: 1, height: 1, channels: 4, data: new Uint8Array([1, 2, 3, 4]) };
    expect(toRgb(rgba)).toMatchObject({ channels: 3, data: new Uint8Array([1, 2, 3]) });
    const rgb: RawImage = { width: 1, height: 1, channels: 3, data: new Uint8Array([5, 6, 7]) };
    expect(toRgb(rgb)).toBe(rgb);
  });
});

describe('fitImage', () => {
  it('resizes and converts grey → RGB and RGB → grey', () => {
    const up = fitImage(grey, 4, 2, 3);
    expect([up.width, up.height, up.channels, up.data.length]).toEqual([4, 2, 3, 24]);
    expect(up.data[0]).toBe(10);
    expect(up.data[up.data.length - 1]).toBe(200);
    const rgb: RawImage = { width: 1, height: 1, channels: 3, data: new Uint8Array([255, 0, 0]) };
    const g = fitImage(rgb, 2, 2, 1);
    expect(g.channels).toBe(1);
    expect(g.data[3]).toBeCloseTo(0.299 * 255, 3);
  });

  it('rejects bad sizes and channel counts', () => {
    expect(() => fitImage(grey, 0, 2, 3)).toThrow(/positive whole number/);
    expect(() => fitImage(grey, 2, 2, 2 as 1)).toThrow(/1 or 3/);
  });
});

describe('fitImage resize modes', () => {
  const row: RawImage = { width: 4, height: 1, channels: 1, data: new Uint8Array([0, 10, 20, 30]) };

  it('crop takes the centred box Keras smart_resize takes', () => {
    // Keras's docstring example: a (340, 500) image to (200, 200) crops 340×340 centred along the width.
    expect(centreCropBox(500, 340, 200, 200)).toEqual({ x: 80, y: 0, width: 340, height: 340 });
    // An odd leftover goes right / down (int() truncation of (8 - 5) / 2).
    expect(centreCropBox(8, 5, 1, 1)).toEqual({ x: 1, y: 0, width: 5, height: 5 });
    expect(centreCropBox(3, 10, 2, 1)).toEqual({ x: 0, y: 4, width: 3, height: 1 });
  });

  it('crop keeps the middle pixels; squash blends them all; the default is squash', () => {
    expect(Array.from(fitImage(row, 2, 1, 1, 'crop').data)).toEqual([10, 20]);
    expect(Array.from(fitImage(row, 2, 1, 1, 'squash').data)).toEqual([5, 25]);
    expect(Array.from(fitImage(row, 2, 1, 1).data)).toEqual([5, 25]);
  });

  it('pad letterboxes with zeros, the odd row going to the bottom', () => {
    const bright: RawImage = { width: 4, height: 1, channels: 1, data: new Uint8Array([100, 100, 100, 100]) };
    const out = fitImage(bright, 4, 4, 3, 'pad');
    const rowMeans = [0, 1, 2, 3].map((y) => Array.from(out.data.subarray(y * 12, (y + 1) * 12)).reduce((a, b) => a + b, 0) / 12);
    expect(rowMeans).toEqual([0, 100, 0, 0]);
  });

  it('refuses an unknown mode', () => {
    expect(() => fitImage(row, 2, 1, 1, 'stretch' as 'crop')).toThrow(/crop, squash, pad.*"stretch"/);
  });
});

describe('toBytes', () => {
  it('rounds and clamps', () => {
    expect(Array.from(toBytes([-3, 0.4, 0.6, 254.5, 300]))).toEqual([0, 0, 1, 255, 255]);
  });
});
