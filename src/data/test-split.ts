import { deriveSeed, Rng } from '../engine/rng.js';

/**
 * The test set graft holds out of the user's images when they bring no test/ folder. Its seed is
 * fixed, not --seed: `graft evaluate`, and every seed of `graft compare`, must score on exactly the
 * images that training never saw. Each class is split on its own (stratified), so choosing other
 * classes with :classes= leaves a class's test images unchanged.
 */

/** Fraction of each class held out for testing. */
export const TEST_FRACTION = 0.2;
/** The split's seed; recorded in run.json. */
export const TEST_SPLIT_SEED = 0;

/**
 * Which samples are test samples. `keys` (file paths) order each class before the seeded shuffle,
 * so the split depends on the files, not on listing order. A class with n ≥ 2 samples gives
 * round(n × fraction) of them, at least 1 and at most n − 1; a class of one stays in training.
 */
export function holdOutTest(labels: ArrayLike<number>, keys: readonly string[], classNames: readonly string[], fraction = TEST_FRACTION): Uint8Array {
  const isTest = new Uint8Array(labels.length);
  classNames.forEach((name, label) => {
    const members: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === label) members.push(i);
    members.sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
    const n = members.length;
    if (n < 2) return;
    const k = Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
    new Rng(deriveSeed(TEST_SPLIT_SEED, `test-split:${name}`)).shuffle(members);
    for (let j = 0; j < k; j++) isTest[members[j]!] = 1;
  });
  return isTest;
}
