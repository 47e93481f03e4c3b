import { Rng, deriveSeed } from '../src/browser.js';

/** Which part of the data each image went to. */
export type Part = 'train' | 'validation' | 'test';

/**
 * Stratified three-way split: within each class, a seeded shuffle, then `testFraction` of it to
 * test and `validationFraction` of the rest to validation (each at least one image when the class
 * has three or more). Per class, so a small class is never missing from the test set.
 */
export function splitPerClass(labels: ArrayLike<number>, classes: number, testFraction: number, validationFraction: number, seed: number): Part[] {
  const rng = new Rng(deriveSeed(seed, 'app-split'));
  const parts: Part[] = new Array<Part>(labels.length).fill('train');
  for (let k = 0; k < classes; k++) {
    const idx: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === k) idx.push(i);
    for (let i = idx.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    const enough = idx.length >= 3;
    const nTest = enough ? Math.max(1, Math.round(idx.length * testFraction)) : 0;
    const nVal = enough ? Math.max(1, Math.round((idx.length - nTest) * validationFraction)) : 0;
    idx.forEach((i, r) => {
      parts[i] = r < nTest ? 'test' : r < nTest + nVal ? 'validation' : 'train';
    });
  }
  return parts;
}
