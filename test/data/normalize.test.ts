import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { GraftError } from '../../src/errors.js';
import { assertUnitRange, inferPixelRange, normalizePixels } from '../../src/data/normalize.js';

const raw: Dataset = { x: Float32Array.from([0, 51, 255, 128]), y: Int32Array.from([0, 1]), sampleShape: [2], classNames: ['a', 'b'], pixelRange: 'raw', source: 'raw-set' };

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof GraftError ? e.code : 'not a GraftError';
  }
  return undefined;
}

describe('normalizePixels', () => {
  it('divides by 255 exactly once and marks the result unit', () => {
    const out = normalizePixels(raw);
    expect(Array.from(out.x)).toEqual([0, Math.fround(51 / 255), 1, Math.fround(128 / 255)]);
    expect(out.pixelRange).toBe('unit');
    expect(raw.x[2]).toBe(255);
  });

  it('refuses to normalise twice, naming the write-up bug', () => {
    const once = normalizePixels(raw);
    expect(code(() => normalizePixels(once))).toBe('DOUBLE_NORMALIZATION');
    expect(() => normalizePixels(once)).toThrow(/divided by 255 twice.*Pass the dataset as it is/);
  });

  it('refuses data flagged raw that is already scaled', () => {
    const mislabelled: Dataset = { ...raw, x: Float32Array.from([0, 0.2, 1, 0.5]) };
    expect(code(() => normalizePixels(mislabelled))).toBe('DOUBLE_NORMALIZATION');
    // An all-black or binary image set really can be raw.
    expect(normalizePixels({ ...raw, x: Float32Array.from([0, 1, 0, 1]) }).pixelRange).toBe('unit');
  });
});

describe('inferPixelRange', () => {
  it('reads values above 1 as raw', () => {
    expect(inferPixelRange(Float32Array.from([0, 0.5, 1]))).toBe('unit');
    expect(inferPixelRange(Float32Array.from([0, 1.5]))).toBe('raw');
  });
});

describe('assertUnitRange', () => {
  it('accepts normalised data', () => {
    expect(() => assertUnitRange(normalizePixels(raw), 'training data')).not.toThrow();
  });

  it('refuses raw-flagged data and unit-flagged data with values above 1', () => {
    expect(code(() => assertUnitRange(raw, 'training data'))).toBe('UNNORMALIZED_INPUT');
    expect(() => assertUnitRange(raw, 'training data')).toThrow(/normalizePixels/);
    const lying: Dataset = { ...raw, pixelRange: 'unit' };
    expect(() => assertUnitRange(lying, 'test data')).toThrow(/value 1 is 51, outside \[0, 1\]/);
    expect(code(() => assertUnitRange({ ...lying, x: Float32Array.from([0, Number.NaN, 0, 0]) }, 'x'))).toBe('UNNORMALIZED_INPUT');
  });
});
