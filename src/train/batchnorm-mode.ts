import { GraftError } from '../errors.js';

/**
 * How BatchNormalization layers run while their layer trains. 'train': batch statistics, moving
 * averages updated (TF.js's and PyTorch's default). 'frozen': the moving statistics are used and
 * kept, as Keras's fine-tuning guide does for an unfrozen pretrained base; γ and β still train.
 * 'auto': graft's choice, today 'train' (until a measured comparison picks the default; issue 16).
 * A BatchNorm whose layer is frozen always runs on its moving statistics, whatever the mode.
 */
export type BatchNormMode = 'train' | 'frozen' | 'auto';

export const BATCH_NORM_MODES: readonly BatchNormMode[] = ['train', 'frozen', 'auto'];

/** What 'auto' runs as (stated in `graft transfer --help`). */
export const BATCH_NORM_AUTO: Exclude<BatchNormMode, 'auto'> = 'train';

/** The mode that runs, after checking what was given; undefined is 'auto'. */
export function resolveBatchNorm(mode: BatchNormMode | undefined, what = 'batchNorm'): Exclude<BatchNormMode, 'auto'> {
  if (mode === undefined) return BATCH_NORM_AUTO;
  if (!BATCH_NORM_MODES.includes(mode)) {
    throw new GraftError('BAD_ARGUMENT', `${what} must be one of ${BATCH_NORM_MODES.join(', ')}; received ${JSON.stringify(mode)}. Use 'frozen' to keep BatchNorm's moving statistics while its layer trains, 'train' to update them.`);
  }
  return mode === 'auto' ? BATCH_NORM_AUTO : mode;
}
