import { describe, expect, it } from 'vitest';
import { fitImage, toBytes, toRgb } from '../../src/data/image-convert.js';
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

describe('toBytes', () => {
  it('rounds and clamps', () => {
    expect(Array.from(toBytes([-3, 0.4, 0.6, 254.5, 300]))).toEqual([0, 0, 1, 255, 255]);
  });
});
