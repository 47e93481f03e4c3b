import { describe, expect, it } from 'vitest';
import { accuracyFromConfusion, argmaxRows, confusionMatrix, crossEntropyFromProbs, perClassMetrics } from '../../src/evaluate/metrics.js';

describe('metrics', () => {
  it('builds a confusion matrix with rows = true class', () => {
    const m = confusionMatrix([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], 3);
    expect(m).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 0],
    ]);
    expect(accuracyFromConfusion(m)).toBeCloseTo(3 / 5);
  });

  it('computes precision, recall and F1 per class (0 where undefined)', () => {
    const m = confusionMatrix([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], 3);
    const [c0, c1, c2] = perClassMetrics(m, ['a', 'b', 'c']);
    expect(c0).toMatchObject({ name: 'a', precision: 0.5, recall: 0.5, support: 2 });
    expect(c1!.precision).toBeCloseTo(2 / 3);
    expect(c1!.recall).toBe(1);
    expect(c1!.f1).toBeCloseTo(0.8);
    expect(c2).toMatchObject({ precision: 0, recall: 0, f1: 0, support: 1 });
  });

  it('argmax and cross-entropy from probabilities', () => {
    const p = Float32Array.from([0.1, 0.9, 0.8, 0.2]);
    expect(Array.from(argmaxRows(p, 2))).toEqual([1, 0]);
    expect(crossEntropyFromProbs(p, 2, [1, 1])).toBeCloseTo((-Math.log(0.9) - Math.log(0.2)) / 2, 5);
  });
});
