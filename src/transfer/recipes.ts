import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import type { BatchNormMode } from '../train/batchnorm-mode.js';
import type { OptimizerName } from '../train/optimizer.js';
import { EARLY_STOPPING_DEFAULTS, type EarlyStoppingOptions } from '../train/early-stopping.js';
import type { KeepBestOptions } from '../train/callbacks/keep-best.js';
import type { UnfreezePolicy } from './freeze.js';
import type { PhaseOptions, UnfrozenPhaseOptions } from './fine-tune.js';
import type { HeadOptions } from './transfer.js';

/**
 * Named sets of fine-tuning defaults (issue 16). Each says, for the new head and both phases, what a
 * run uses when no option says otherwise. Explicit options always win; run.json records which value
 * came from where.
 */
export type RecipeName = 'writeup' | 'keras-guide' | 'fastai';

/** 'auto': `keras-guide` for a pretrained source that takes images (measured best), `writeup` otherwise. */
export type RecipeChoice = RecipeName | 'auto';

export const RECIPE_NAMES: readonly RecipeName[] = ['writeup', 'keras-guide', 'fastai'];

/** Every setting a recipe decides, flat, so that each can be told apart as given or defaulted. */
export interface RecipeSettings {
  headPooling: 'flatten' | 'avg';
  /** Units of a hidden Dense (relu) in the head; 0 for none. */
  headHidden: number;
  /** Dropout before the output; 0 for none. */
  headDropout: number;
  frozenEpochs: number;
  frozenOptimizer: OptimizerName;
  frozenLearningRate: number;
  /** Schedule text (train/schedule.ts); 'constant' for none. */
  frozenSchedule: string;
  unfreeze: UnfreezePolicy;
  /** Unfreeze one more block per epoch from the top (ULMFiT) instead of all at once. */
  gradual: boolean;
  epochs: number;
  /** The unfrozen phase's optimizer. */
  optimizer: OptimizerName;
  learningRate: number;
  schedule: string;
  /** SGD/RMSprop momentum, both phases. */
  momentum: number;
  /** Weight decay, both phases; absent: the optimizer's own default (0; adamw 0.01). */
  weightDecay?: number;
  /** Ratio of the earliest unfrozen block's rate to the head's (discriminative rates); 1 for one rate. */
  discriminative: number;
  batchNorm: BatchNormMode;
  /** Stop a phase after this many epochs without improvement on validation; 0 never stops. */
  earlyStopping: number;
  /** End each phase with its best epoch's weights (by validation). */
  keepBest: boolean;
}

export interface Recipe {
  name: RecipeName;
  /** What it follows, in a line (shown in --help). */
  summary: string;
  /**
   * The settings. writeup's unfrozen optimizer and rate follow its frozen phase (same optimizer, a
   * tenth of the rate) unless given, as the write-up did; `unfrozenFollowsFrozen` says so.
   */
  settings: RecipeSettings;
  /** The unfrozen rate is the frozen one divided by this (division, as graft always computed it: 0.001 / 10 is 0.0001 exactly). */
  unfrozenFollowsFrozen?: { learningRateDivisor: number };
  /** Where graft departs from the source it names. */
  differs?: string;
}

const WRITEUP: Recipe = {
  name: 'writeup',
  summary: "the write-up's Model B: flatten head, SGD 0.001 for 4 frozen epochs, then all layers 16 epochs with the same optimizer at a tenth of the rate, BatchNorm auto",
  settings: {
    headPooling: 'flatten',
    headHidden: 0,
    headDropout: 0,
    frozenEpochs: 4,
    frozenOptimizer: 'sgd',
    frozenLearningRate: 0.001,
    frozenSchedule: 'constant',
    unfreeze: 'all',
    gradual: false,
    epochs: 16,
    optimizer: 'sgd',
    learningRate: 0.0001,
    schedule: 'constant',
    momentum: 0,
    discriminative: 1,
    batchNorm: 'auto',
    earlyStopping: 0,
    keepBest: false,
  },
  unfrozenFollowsFrozen: { learningRateDivisor: 10 },
};

const KERAS_GUIDE: Recipe = {
  name: 'keras-guide',
  summary: "Keras's transfer-learning guide: average-pool + dropout 0.2 head, Adam 0.001 for 20 frozen epochs, then the whole base 10 epochs with Adam 1e-5, BatchNorm kept in inference mode",
  settings: {
    headPooling: 'avg',
    headHidden: 0,
    headDropout: 0.2,
    frozenEpochs: 20,
    frozenOptimizer: 'adam',
    frozenLearningRate: 0.001,
    frozenSchedule: 'constant',
    unfreeze: 'all',
    gradual: false,
    epochs: 10,
    optimizer: 'adam',
    learningRate: 1e-5,
    schedule: 'constant',
    momentum: 0,
    discriminative: 1,
    batchNorm: 'frozen',
    earlyStopping: 0,
    keepBest: false,
  },
  differs: 'no random flip/rotation (graft augments with --augment, which turns the feature cache off)',
};

const FASTAI: Recipe = {
  name: 'fastai',
  summary: "fastai's fine_tune: average-pool head with a 512-unit hidden layer and dropout 0.5, AdamW (decay 0.01), 1 frozen epoch one-cycle at 0.002, then all layers 3 epochs one-cycle at 0.001 with early blocks at 1/100 of it (discriminative rates), BatchNorm training",
  settings: {
    headPooling: 'avg',
    headHidden: 512,
    headDropout: 0.5,
    frozenEpochs: 1,
    frozenOptimizer: 'adamw',
    frozenLearningRate: 0.002,
    frozenSchedule: 'one-cycle:0.99',
    unfreeze: 'all',
    gradual: false,
    epochs: 3,
    optimizer: 'adamw',
    learningRate: 0.001,
    schedule: 'one-cycle',
    momentum: 0,
    weightDecay: 0.01,
    discriminative: 0.01,
    batchNorm: 'train',
    earlyStopping: 0,
    keepBest: false,
  },
  differs:
    "fastai's head also concatenates max-pooling and has BatchNorm layers, its Adam uses β2 0.99, its unfrozen one-cycle starts at max/5 (graft: max/25), " +
    'BatchNorm in the frozen base trains too (graft runs a frozen layer on its moving statistics), and fine_tune leaves the unfrozen epochs to the user (graft: 3)',
};

/** What `auto` picks for a pretrained image source: the best end accuracy over 5 paired seeds (README "Recipes and BatchNorm"). */
export const RECIPE_FOR_PRETRAINED_IMAGES: RecipeName = 'keras-guide';

export const RECIPES: Readonly<Record<RecipeName, Recipe>> = { writeup: WRITEUP, 'keras-guide': KERAS_GUIDE, fastai: FASTAI };

/** Where each resolved setting came from. */
export type SettingOrigin = 'option' | 'recipe';

/** What run.json records: the recipe, every resolved value, and where each came from. */
export interface RecipeRecord {
  /** The recipe that ran ('auto' resolved). */
  name: RecipeName;
  /** As asked: a name or 'auto'. */
  asked: RecipeChoice;
  values: RecipeSettings;
  from: Record<keyof RecipeSettings, SettingOrigin>;
}

/** Checks a recipe name (from a flag or the library). */
export function checkRecipe(choice: string, what = 'recipe'): RecipeChoice {
  if (choice === 'auto' || (RECIPE_NAMES as readonly string[]).includes(choice)) return choice as RecipeChoice;
  throw new GraftError('BAD_ARGUMENT', `${what} must be one of auto, ${RECIPE_NAMES.join(', ')}; received ${JSON.stringify(choice)}. See graft transfer --help for what each sets.`);
}

/**
 * 'auto' resolved: a source that takes images with channels (rank-4 input: a CNN, such as a
 * pretrained backbone or an imported ONNX/Keras image model) gets RECIPE_FOR_PRETRAINED_IMAGES; anything else (the
 * write-up's MLP) keeps `writeup`, whose figures the README's first workflow reports.
 */
export function recipeFor(choice: RecipeChoice, source: tfl.LayersModel, pretrained = true): RecipeName {
  if (choice !== 'auto') return choice;
  return pretrained && source.inputs[0]?.shape.length === 4 ? RECIPE_FOR_PRETRAINED_IMAGES : 'writeup';
}

/** The recipe's settings with the given ones laid over them, and the record of where each came from. */
export function resolveRecipe(name: RecipeName, given: Partial<RecipeSettings>, asked: RecipeChoice = name): RecipeRecord {
  const recipe = RECIPES[name];
  const values: RecipeSettings = { ...recipe.settings };
  const from = Object.fromEntries(Object.keys(values).map((k) => [k, 'recipe'])) as Record<keyof RecipeSettings, SettingOrigin>;
  for (const key of Object.keys(given) as (keyof RecipeSettings)[]) {
    if (given[key] === undefined) continue;
    (values as unknown as Record<string, unknown>)[key] = given[key];
    from[key] = 'option';
  }
  // The write-up's unfrozen phase follows its frozen one unless told otherwise.
  const follow = recipe.unfrozenFollowsFrozen;
  if (follow) {
    if (given.optimizer === undefined) values.optimizer = values.frozenOptimizer;
    if (given.learningRate === undefined) values.learningRate = values.frozenLearningRate / follow.learningRateDivisor;
  }
  return { name, asked, values, from };
}

/** One recipe as --help lists it. */
export function describeRecipe(r: Recipe): string {
  return `${r.name}: ${r.summary}${r.differs ? ` (unlike the original: ${r.differs})` : ''}`;
}

/** The parts of a transfer's options a recipe fills. */
export interface RecipeTargets {
  head?: Omit<HeadOptions, 'classes'>;
  frozen?: PhaseOptions;
  unfrozen?: UnfrozenPhaseOptions;
  earlyStopping?: EarlyStoppingOptions | false;
  keepBest?: KeepBestOptions | false;
}

/** The settings that options already fix (each then wins over the recipe). */
export function settingsGiven(o: RecipeTargets): Partial<RecipeSettings> {
  const g: Partial<RecipeSettings> = {};
  const set = <K extends keyof RecipeSettings>(k: K, v: RecipeSettings[K] | undefined): void => {
    if (v !== undefined) g[k] = v;
  };
  set('headPooling', o.head?.pooling);
  set('headHidden', o.head?.hidden);
  set('headDropout', o.head?.dropout);
  set('frozenEpochs', o.frozen?.epochs);
  set('frozenOptimizer', o.frozen?.optimizer?.name);
  set('frozenLearningRate', o.frozen?.optimizer?.learningRate);
  set('frozenSchedule', typeof o.frozen?.schedule === 'string' ? o.frozen.schedule : undefined);
  set('epochs', o.unfrozen?.epochs);
  set('optimizer', o.unfrozen?.optimizer?.name);
  set('learningRate', o.unfrozen?.optimizer?.learningRate);
  set('schedule', typeof o.unfrozen?.schedule === 'string' ? o.unfrozen.schedule : undefined);
  set('unfreeze', o.unfrozen?.unfreeze);
  set('gradual', o.unfrozen?.gradual);
  set('discriminative', o.unfrozen?.discriminative);
  set('batchNorm', o.unfrozen?.batchNorm);
  set('momentum', o.frozen?.optimizer?.momentum ?? o.unfrozen?.optimizer?.momentum);
  set('weightDecay', o.frozen?.optimizer?.weightDecay ?? o.unfrozen?.optimizer?.weightDecay);
  if (o.earlyStopping !== undefined) g.earlyStopping = o.earlyStopping === false ? 0 : (o.earlyStopping.patience ?? EARLY_STOPPING_DEFAULTS.patience);
  if (o.keepBest !== undefined) g.keepBest = o.keepBest !== false;
  return g;
}

/**
 * Options with the recipe's values filled in: what the options gave is kept as it was (a schedule
 * given as an object, the phase's other fields), the rest comes from `values`.
 */
export function applyRecipe<T extends RecipeTargets>(o: T, values: RecipeSettings): T {
  const v = values;
  const optimizer = (name: OptimizerName, learningRate: number, given: PhaseOptions['optimizer']): NonNullable<PhaseOptions['optimizer']> => ({
    ...given,
    name,
    learningRate,
    ...(v.momentum !== 0 && { momentum: v.momentum }),
    ...(v.weightDecay !== undefined && { weightDecay: v.weightDecay }),
  });
  const head: Omit<HeadOptions, 'classes'> = {
    ...o.head,
    pooling: v.headPooling,
    ...(v.headHidden > 0 && { hidden: v.headHidden }),
    ...(v.headDropout > 0 && { dropout: v.headDropout }),
  };
  if (v.headHidden === 0) delete head.hidden;
  if (v.headDropout === 0) delete head.dropout;
  const frozen: PhaseOptions = {
    ...o.frozen,
    epochs: v.frozenEpochs,
    optimizer: optimizer(v.frozenOptimizer, v.frozenLearningRate, o.frozen?.optimizer),
    ...(o.frozen?.schedule === undefined && v.frozenSchedule !== 'constant' && { schedule: v.frozenSchedule }),
  };
  const unfrozen: UnfrozenPhaseOptions = {
    ...o.unfrozen,
    epochs: v.epochs,
    optimizer: optimizer(v.optimizer, v.learningRate, o.unfrozen?.optimizer),
    unfreeze: v.unfreeze,
    batchNorm: v.batchNorm,
    ...(v.gradual && { gradual: true }),
    ...(o.unfrozen?.schedule === undefined && v.schedule !== 'constant' && { schedule: v.schedule }),
    ...(v.discriminative !== 1 && { discriminative: v.discriminative }),
  };
  // A value the recipe settled as 'none' must not survive from the options' own phase objects.
  if (!v.gradual) delete unfrozen.gradual;
  if (v.discriminative === 1) delete unfrozen.discriminative;
  const out: T = { ...o, head, frozen, unfrozen };
  if (v.earlyStopping > 0) out.earlyStopping = { ...(o.earlyStopping || {}), patience: v.earlyStopping };
  if (v.keepBest) out.keepBest = o.keepBest || {};
  return out;
}
