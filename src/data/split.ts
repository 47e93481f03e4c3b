import { GraftError } from '../errors.js';
import { deriveSeed, Rng } from '../engine/rng.js';
import { type Dataset, take } from './dataset.js';
import { indicesByClass } from './subsample.js';

/**
 * Holds out a stratified, seeded `fraction` of each class for validation. Apply it to a training
 * set only: never carve validation from the test set, or the test score stops being unbiased.
 * Every class keeps at least one training sample; both parts keep the original sample order.
 */
export function validationSplit(ds: Dataset, fraction: number, seed: number): { train: Dataset; validation: Dataset } {
  if (!(fraction > 0 && fraction < 1)) {
    throw new GraftError('BAD_ARGUMENT', `Validation fraction must be in (0, 1); received ${fraction}. Pass e.g. 0.1 to hold out 10% of the training set.`);
  }
  const rng = new Rng(deriveSeed(seed, 'validation-split'));
  const isValidation = new Uint8Array(ds.y.length);
  let nValidation = 0;
  for (const g of indicesByClass(ds)) {
    const k = Math.min(Math.round(g.length * fraction), g.length - 1);
    if (k <= 0) continue;
    rng.shuffle(g);
    for (let i = 0; i < k; i++) isValidation[g[i]!] = 1;
    nValidation += k;
  }
  if (nValidation === 0) {
    throw new GraftError(
      'BAD_ARGUMENT',
      `A validation fraction of ${fraction} of ${ds.source} (${ds.y.length} samples) leaves the validation set empty. Use a larger fraction or more samples per class.`,
    );
  }
  const train: number[] = [];
  const validation: number[] = [];
  for (let i = 0; i < ds.y.length; i++) (isValidation[i] ? validation : train).push(i);
  const tag = `validation split ${fraction}, seed ${seed}`;
  return { train: take(ds, train, `${ds.source} (train part, ${tag})`), validation: take(ds, validation, `${ds.source} (validation part, ${tag})`) };
}
