import { describe, expect, it } from 'vitest';
import { classCounts } from '../../src/data/dataset.js';
import { validationSplit } from '../../src/data/split.js';
import { tinyDataset } from './idx-fixtures.js';

const labels = Array.from({ length: 100 }, (_, i) => (i < 60 ? 0 : i < 90 ? 1 : i < 99 ? 2 : 3));
const ds = tinyDataset(labels, ['a', 'b', 'c', 'd']);
const ids = (d: { x: Float32Array }): number[] => Array.from(d.x.filter((_, i) => i % 2 === 0));

describe('validationSplit', () => {
  it('is stratified per class and keeps at least one training sample per class', () => {
    const { train, validation } = validationSplit(ds, 0.2, 1);
    expect(classCounts(validation)).toEqual([12, 6, 2, 0]);
    expect(classCounts(train)).toEqual([48, 24, 7, 1]);
    expect(validation.classNames).toEqual(ds.classNames);
  });

  it('partitions the samples: disjoint, complete, labels intact', () => {
    const { train, validation } = validationSplit(ds, 0.3, 5);
    const all = [...ids(train), ...ids(validation)].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (const part of [train, validation]) for (let k = 0; k < part.y.length; k++) expect(part.x[2 * k + 1]).toBe(part.y[k]);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    expect(ids(validationSplit(ds, 0.2, 3).validation)).toEqual(ids(validationSplit(ds, 0.2, 3).validation));
    expect(ids(validationSplit(ds, 0.2, 3).validation)).not.toEqual(ids(validationSplit(ds, 0.2, 4).validation));
  });

  it('never takes a class entirely, even with a large fraction', () => {
    const { train } = validationSplit(tinyDataset([0, 0, 1, 1], ['a', 'b']), 0.9, 1);
    expect(classCounts(train)).toEqual([1, 1]);
  });

  it('refuses fractions outside (0, 1) and empty validation sets', () => {
    for (const f of [0, 1, -0.1, 1.5, Number.NaN]) expect(() => validationSplit(ds, f, 1)).toThrow(/must be in \(0, 1\)/);
    expect(() => validationSplit(tinyDataset([0, 1, 1], ['a', 'b']), 0.1, 1)).toThrow(/validation set empty/);
  });
});
