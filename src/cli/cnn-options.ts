import { GraftError } from '../errors.js';
import type { AugmentOptions } from '../data/augment.js';
import { BATCH_NORM_AUTO, BATCH_NORM_MODES, type BatchNormMode } from '../train/batchnorm-mode.js';
import type { OptionDef } from './command.js';
import { numberOption } from './command.js';

/** Options for image backbones and CNN fine-tuning (graft transfer; graft seed --cnn uses the same machinery). */
export const BACKBONE_OPTIONS = {
  backbone: { type: 'string', value: 'NAME', description: 'Start from a pretrained backbone instead of --from: vgg16, mobilenetv2 or mobilenetv2:ALPHA (0.35, 0.5, 0.75, 1)' },
  weights: { type: 'string', value: 'W', default: 'imagenet', description: 'Backbone weights: imagenet (cache or download), none (random), or a file (.h5, .keras, TF.js model.json with the same layer names)' },
  input: { type: 'string', value: 'SIDE', description: 'Resize images to SIDE×SIDE (RGB for backbones); required with --backbone (the write-up: 64)' },
  'head-pool': { type: 'string', value: 'HOW', default: 'flatten', description: 'How a feature map becomes a vector in the new head: flatten (the write-up) or avg' },
} as const satisfies Record<string, OptionDef>;

export const PHASE_OPTIONS = {
  gradual: { type: 'boolean', description: 'Unfreeze one more block per epoch from the top, instead of all at once' },
  discriminative: { type: 'string', value: 'RATIO', description: 'Earliest unfrozen block trains at RATIO × the rate, later blocks geometrically closer to it (e.g. 0.1)' },
  augment: { type: 'string', value: 'LIST', description: 'Random augmentation of training images: flip, shift=F, or both (flip,shift=0.1); turns the feature cache off' },
  'no-feature-cache': { type: 'boolean', description: 'Run the frozen base on every batch instead of once per image (for checking; results are the same)' },
} as const satisfies Record<string, OptionDef>;

/** "flip", "shift=0.1", "flip,shift=0.1". */
export function parseAugment(text: string): AugmentOptions {
  const o: AugmentOptions = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (part === 'flip') o.flip = true;
    else if (part.startsWith('shift=')) o.shift = numberOption('augment shift', part.slice(6), { min: 0, max: 0.49 })!;
    else throw new GraftError('BAD_ARGUMENT', `--augment received ${JSON.stringify(text)}; use flip, shift=F (a fraction of the side, e.g. 0.1), or flip,shift=0.1.`);
  }
  if (!o.flip && !o.shift) throw new GraftError('BAD_ARGUMENT', `--augment received ${JSON.stringify(text)}, which switches nothing on; use flip, shift=0.1, or both.`);
  return o;
}

export function parseHeadPool(text: string): 'flatten' | 'avg' {
  if (text === 'flatten' || text === 'avg') return text;
  throw new GraftError('BAD_ARGUMENT', `--head-pool received ${JSON.stringify(text)}; choose flatten or avg.`);
}

/** --bn: how trainable BatchNorm layers run in the unfrozen phase (train/batchnorm-mode.ts). */
export const BATCH_NORM_OPTION = {
  bn: {
    type: 'string',
    value: 'MODE',
    default: 'auto',
    description: `BatchNorm in the unfrozen phase: frozen (moving statistics used and kept, γ/β still train; Keras's fine-tuning guide), train (batch statistics, moving averages updated), or auto (${BATCH_NORM_AUTO}, chosen by measurement: README "Recipes and BatchNorm")`,
  },
} as const satisfies Record<string, OptionDef>;

export function parseBatchNormOption(text: string): BatchNormMode {
  if ((BATCH_NORM_MODES as readonly string[]).includes(text)) return text as BatchNormMode;
  throw new GraftError('BAD_ARGUMENT', `--bn received ${JSON.stringify(text)}; choose ${BATCH_NORM_MODES.join(', ')} (frozen keeps BatchNorm's moving statistics while the base trains).`);
}
