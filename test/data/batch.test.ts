import { describe, expect, it } from 'vitest';
import { gatherBatch, gatherLabels } from '../../src/data/batch.js';

describe('gatherBatch', () => {
  it('copies the chosen rows (short rows)', () => {
    const x = Float32Array.from([0, 1, 10, 11, 20, 21, 30, 31]);
    const out = new Float32Array(6);
    const batch = gatherBatch(x, 2, [3, 0, 2, 1], 1, 3, out);
    expect(Array.from(batch)).toEqual([0, 1, 20, 21]);
    expect(batch.buffer).toBe(out.buffer);
  });

  it('copies the chosen rows (long rows)', () => {
    const size = 100;
    const x = Float32Array.from({ length: 5 * size }, (_, i) => i);
    const out = new Float32Array(3 * size);
    const batch = gatherBatch(x, size, Int32Array.from([4, 1, 3]), 0, 3, out);
    expect(batch.length).toBe(300);
    expect(batch[0]).toBe(400);
    expect(batch[size + 99]).toBe(199);
    expect(batch[2 * size]).toBe(300);
  });

  it('refuses a small buffer, a bad range or an out-of-range index', () => {
    const x = new Float32Array(8);
    expect(() => gatherBatch(x, 2, [0, 1], 0, 2, new Float32Array(3))).toThrow(/holds 3 values but the batch needs 4/);
    expect(() => gatherBatch(x, 2, [0, 1], 1, 3, new Float32Array(8))).toThrow(/batch range \[1, 3\)/);
    expect(() => gatherBatch(x, 2, [0, 4], 0, 2, new Float32Array(8))).toThrow(/index 4 at position 1 is outside 0..3/);
  });
});

describe('gatherLabels', () => {
  it('copies labels as floats', () => {
    const out = new Float32Array(4);
    expect(Array.from(gatherLabels(Int32Array.from([5, 6, 7]), [2, 0, 1], 0, 2, out))).toEqual([7, 5]);
    expect(() => gatherLabels(Int32Array.from([5]), [1], 0, 1, out)).toThrow(/outside 0..0/);
  });
});
