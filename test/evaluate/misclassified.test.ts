import { describe, expect, it } from 'vitest';
import { misclassifiedExamples } from '../../src/evaluate/misclassified.js';

describe('misclassifiedExamples', () => {
  // Five samples, three classes: rows 1, 2 and 4 are wrong, with confidences 0.5, 0.9, 0.5.
  const probs = Float32Array.from([0.8, 0.1, 0.1, 0.5, 0.3, 0.2, 0.05, 0.05, 0.9, 0.1, 0.8, 0.1, 0.2, 0.5, 0.3]);
  const labels = Int32Array.from([0, 1, 0, 1, 2]);

  it('lists wrong predictions, most confident first, ties in dataset order', () => {
    expect(misclassifiedExamples(probs, 3, labels)).toEqual([
      { index: 2, label: 0, predicted: 2, confidence: expect.closeTo(0.9, 6) },
      { index: 1, label: 1, predicted: 0, confidence: 0.5 },
      { index: 4, label: 2, predicted: 1, confidence: 0.5 },
    ]);
  });

  it('caps the list at max', () => {
    expect(misclassifiedExamples(probs, 3, labels, 1).map((m) => m.index)).toEqual([2]);
    expect(misclassifiedExamples(probs, 3, labels, 0)).toEqual([]);
  });

  it('returns nothing when every prediction is right', () => {
    expect(misclassifiedExamples(Float32Array.from([0.9, 0.1, 0.2, 0.8]), 2, Int32Array.from([0, 1]))).toEqual([]);
  });

  it('refuses probabilities that do not match labels × classes', () => {
    expect(() => misclassifiedExamples(probs, 2, labels)).toThrow(/15 values.*5.*2/);
  });
});
