import { describe, expect, it } from 'vitest';
import { classCounts } from '../../src/data/dataset.js';
import { perClassSubsample } from '../../src/data/subsample.js';
import { tinyDataset } from './idx-fixtures.js';

const labels = Array.from({ length: 60 }, (_, i) => (i < 30 ? 0 : i < 50 ? 1 : 2));
const ds = tinyDataset(labels, ['a', 'b', 'c']);
const ids = (d: { x: Float32Array }): number[] => Array.from(d.x.filter((_, i) => i % 2 === 0));

describe('perClassSubsample', () => {
  it('takes exactly perClass samples of every class, each sample intact', () => {
    const out = perClassSubsample(ds, 5, 1);
    expect(classCounts(out)).toEqual([5, 5, 5]);
    for (let k = 0; k < out.y.length; k++) expect(out.x[2 * k + 1]).toBe(out.y[k]);
    expect(new Set(ids(out)).size).toBe(15);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    expect(ids(perClassSubsample(ds, 5, 7))).toEqual(ids(perClassSubsample(ds, 5, 7)));
    expect(ids(perClassSubsample(ds, 5, 7))).not.toEqual(ids(perClassSubsample(ds, 5, 8)));
  });

  it('shuffles the output order instead of grouping by class', () => {
    const y = Array.from(perClassSubsample(ds, 10, 3).y);
    expect(y).not.toEqual([...y].sort());
  });

  it('refuses more than a class holds, naming the class and its count', () => {
    expect(() => perClassSubsample(ds, 11, 1)).toThrow(/class "c" has only 10/);
    expect(() => perClassSubsample(ds, 0, 1)).toThrow(/positive integer; received 0/);
    expect(() => perClassSubsample(ds, 2.5, 1)).toThrow(/received 2.5/);
  });
});
