import { GraftError } from '../errors.js';

/**
 * How BatchNormalization layers run while their layer trains. 'train': batch statistics, moving
 * averages updated (TF.js's and PyTorch's default). 'frozen': the moving statistics are used and
 * kept, as Keras's fine-tuning guide does for an unfrozen pretrained base; γ and β still train.
 * 'auto': graft's measured choice, which depends on what trains (BATCH_NORM_AUTO).
 * A BatchNorm whose layer is frozen always runs on its moving statistics, whatever the mode.
 */
export type BatchNormMode = 'train' | 'frozen' | 'auto';

export const BATCH_NORM_MODES: readonly BatchNormMode[] = ['train', 'frozen', 'auto'];

/** What is training: a model from scratch (`fit`), or reused, already-trained layers (`fineTune`'s phases). */
export type BatchNormContext = 'scratch' | 'fine-tune';

/**
 * What 'auto' runs as when reused, trained layers are fine-tuned (stated in `graft transfer --help`):
 * measured over paired seeds on a pretrained MobileNetV2 and on a small CNN graft pretrained
 * (README, "Recipes and BatchNorm"; bench/recipes.mjs).
 */
export const BATCH_NORM_AUTO: Exclude<BatchNormMode, 'auto'> = 'frozen';

/** What 'auto' runs as when a model trains from scratch: its statistics must be learnt. */
export const BATCH_NORM_AUTO_SCRATCH: Exclude<BatchNormMode, 'auto'> = 'train';

const AUTO: Readonly<Record<BatchNormContext, Exclude<BatchNormMode, 'auto'>>> = { scratch: BATCH_NORM_AUTO_SCRATCH, 'fine-tune': BATCH_NORM_AUTO };

/** The mode that runs, after checking what was given; undefined is 'auto'. */
export function resolveBatchNorm(mode: BatchNormMode | undefined, what = 'batchNorm', context: BatchNormContext = 'scratch'): Exclude<BatchNormMode, 'auto'> {
  if (mode === undefined) return AUTO[context];
  if (!BATCH_NORM_MODES.includes(mode)) {
    throw new GraftError('BAD_ARGUMENT', `${what} must be one of ${BATCH_NORM_MODES.join(', ')}; received ${JSON.stringify(mode)}. Use 'frozen' to keep BatchNorm's moving statistics while its layer trains, 'train' to update them.`);
  }
  return mode === 'auto' ? AUTO[context] : mode;
}
