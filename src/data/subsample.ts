import { GraftError } from '../errors.js';
import { deriveSeed, Rng } from '../engine/rng.js';
import { type Dataset, take } from './dataset.js';

/** Indices of each label, in dataset order. */
export function indicesByClass(ds: Dataset): number[][] {
  const groups = ds.classNames.map((): number[] => []);
  for (let i = 0; i < ds.y.length; i++) groups[ds.y[i]!]?.push(i);
  return groups;
}

/**
 * A seeded random `perClass` samples of every class, in seeded random order: the small-data regime
 * where transfer learning is supposed to pay off. The same seed always picks the same images.
 */
export function perClassSubsample(ds: Dataset, perClass: number, seed: number): Dataset {
  if (!Number.isInteger(perClass) || perClass < 1) {
    throw new GraftError('BAD_ARGUMENT', `perClass must be a positive integer; received ${perClass}. Pass e.g. 100 to keep 100 images of each class.`);
  }
  const groups = indicesByClass(ds);
  groups.forEach((g, c) => {
    if (g.length < perClass) {
      throw new GraftError(
        'BAD_ARGUMENT',
        `Cannot take ${perClass} samples per class from ${ds.source}: class ${JSON.stringify(ds.classNames[c])} has only ${g.length}. Pass perClass ≤ ${Math.min(...groups.map((h) => h.length))} (the smallest class).`,
      );
    }
  });
  const rng = new Rng(deriveSeed(seed, 'per-class-subsample'));
  const picked = new Int32Array(perClass * groups.length);
  let n = 0;
  for (const g of groups) {
    // Partial Fisher–Yates: only the first perClass positions need to be drawn.
    for (let i = 0; i < perClass; i++) {
      const j = i + rng.int(g.length - i);
      const t = g[i]!;
      g[i] = g[j]!;
      g[j] = t;
      picked[n++] = g[i]!;
    }
  }
  rng.shuffle(picked);
  return take(ds, picked, `${ds.source} (${perClass} per class, seed ${seed})`);
}
