import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { buildExamples } from '../../src/report/examples.js';
import { imageShape, samplePngDataUri } from '../../src/report/png.js';

function decode(uri: string): PNG {
  expect(uri).toMatch(/^data:image\/png;base64,/);
  return PNG.sync.read(Buffer.from(uri.slice(uri.indexOf(',') + 1), 'base64'));
}

describe('samplePngDataUri', () => {
  it('encodes a grayscale [0, 1] sample, clipping out-of-range values', () => {
    const png = decode(samplePngDataUri(Float32Array.from([0, 0.5, 1, 2, -1, NaN]), [2, 3]));
    expect([png.width, png.height]).toEqual([3, 2]);
    expect([0, 1, 2, 3, 4, 5].map((p) => png.data[p * 4])).toEqual([0, 128, 255, 255, 0, 0]);
    expect(png.data[4 * 1 + 1]).toBe(128);
  });
  it('encodes an RGB 0..255 sample with scale 1/255', () => {
    const png = decode(samplePngDataUri(Float32Array.from([255, 0, 0, 0, 0, 255]), [1, 2, 3], 1 / 255));
    expect([...png.data.subarray(0, 8)]).toEqual([255, 0, 0, 255, 0, 0, 255, 255]);
  });
  it('refuses shapes that are not images', () => {
    expect(() => samplePngDataUri(new Float32Array(8), [2, 2, 2])).toThrow(/\[2, 2, 2\]/);
    expect(() => samplePngDataUri(new Float32Array(3), [2, 2])).toThrow(/3 values/);
  });
  it('reads a flat square sample as an image', () => {
    expect(imageShape([784])).toEqual([28, 28]);
    expect(imageShape([32, 32, 3])).toEqual([32, 32, 3]);
    expect(imageShape([10])).toBeUndefined();
  });
});

describe('buildExamples', () => {
  it('keeps the most confidently wrong images with class names', () => {
    const x = Float32Array.from({ length: 3 * 4 }, (_, i) => i / 12);
    const probs = Float32Array.from([0.9, 0.1, 0.3, 0.7, 0.2, 0.8]);
    const { images } = buildExamples(x, [2, 2], probs, 2, Int32Array.from([1, 0, 0]), ['cat', 'dog']);
    expect(images.map(({ label, predicted, confidence }) => ({ label, predicted, confidence: Number(confidence.toFixed(2)) }))).toEqual([
      { label: 'dog', predicted: 'cat', confidence: 0.9 },
      { label: 'cat', predicted: 'dog', confidence: 0.8 },
      { label: 'cat', predicted: 'dog', confidence: 0.7 },
    ]);
    // The first image is sample 0.
    expect(decode(images[0]!.dataUri).data[4 * 3]).toBe(Math.round((255 * 3) / 12));
  });
  it('gives no images for non-image samples', () => {
    expect(buildExamples(new Float32Array(10), [5], Float32Array.from([0, 1, 0, 1]), 2, Int32Array.from([0, 0]), ['a', 'b']).images).toEqual([]);
  });
});
