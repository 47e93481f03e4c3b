import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers.js';
import { GraftError } from '../../src/errors.js';
import { settingsFromFlags } from '../../src/cli/commands/transfer.js';
import { resolveBatchNorm } from '../../src/train/batchnorm-mode.js';
import { applyRecipe, checkRecipe, recipeFor, RECIPE_NAMES, RECIPES, resolveRecipe, settingsGiven, type RecipeTargets } from '../../src/transfer/recipes.js';
// @ts-expect-error a plain-JS bench module without types
import { RECIPE_FLAGS } from '../../bench/recipe-flags.mjs';

/** The flag list as graft's parser leaves it: `--name value` pairs, `--flag` alone for booleans. */
function flagValues(flags: readonly string[]): Record<string, string | boolean> {
  const v: Record<string, string | boolean> = {};
  for (let i = 0; i < flags.length; i += 2) v[flags[i]!.slice(2)] = flags[i + 1]!;
  return v;
}

beforeAll(useBackend);

describe('recipes', () => {
  it('each recipe spelled out as flags (bench/recipe-flags.mjs, what bench/recipes.mjs measures) resolves to the recipe itself', () => {
    for (const name of RECIPE_NAMES) {
      const flags = (RECIPE_FLAGS as Record<string, string[]>)[name]!;
      const fromFlags = resolveRecipe(name, settingsFromFlags(flagValues(flags), false));
      expect(fromFlags.values, name).toEqual(resolveRecipe(name, {}).values);
    }
  });

  it('an explicit setting wins over the recipe and is recorded as from an option; the rest as from the recipe', () => {
    const r = resolveRecipe('keras-guide', { learningRate: 1e-4, epochs: 2 });
    expect(r.values.learningRate).toBe(1e-4);
    expect(r.values.epochs).toBe(2);
    expect(r.values.frozenEpochs).toBe(RECIPES['keras-guide'].settings.frozenEpochs);
    expect(r.from.learningRate).toBe('option');
    expect(r.from.epochs).toBe('option');
    expect(r.from.frozenEpochs).toBe('recipe');
    expect(r.from.batchNorm).toBe('recipe');
  });

  it("writeup's unfrozen phase follows its frozen one (same optimizer, a tenth of the rate) unless given; the others do not", () => {
    const w = resolveRecipe('writeup', { frozenOptimizer: 'adam', frozenLearningRate: 0.01 });
    expect([w.values.optimizer, w.values.learningRate]).toEqual(['adam', 0.001]);
    expect(resolveRecipe('writeup', {}).values.learningRate).toBe(0.0001); // 0.001 / 10 exactly, as before recipes
    expect(resolveRecipe('writeup', { frozenLearningRate: 0.01, learningRate: 0.005 }).values.learningRate).toBe(0.005);
    const k = resolveRecipe('keras-guide', { frozenLearningRate: 0.01 });
    expect(k.values.learningRate).toBe(RECIPES['keras-guide'].settings.learningRate);
  });

  it("auto: a pretrained image source (rank-4 input) gets 'keras-guide' (measured); an MLP, or random weights, 'writeup'; a name is kept", () => {
    const cnn = tfl.sequential({ layers: [tfl.layers.conv2d({ inputShape: [8, 8, 3], filters: 2, kernelSize: 3 }), tfl.layers.flatten(), tfl.layers.dense({ units: 2 })] });
    const mlp = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [28, 28] }), tfl.layers.dense({ units: 8 })] });
    expect(recipeFor('auto', cnn)).toBe('keras-guide');
    expect(recipeFor('auto', cnn, false)).toBe('writeup');
    expect(recipeFor('auto', mlp)).toBe('writeup');
    expect(recipeFor('fastai', mlp)).toBe('fastai');
    cnn.dispose();
    mlp.dispose();
  });

  it('applyRecipe fills what the options leave unset and keeps what they set', () => {
    const given: RecipeTargets = { head: { hidden: 64 }, unfrozen: { epochs: 1, gradual: true } };
    const o = applyRecipe(given, resolveRecipe('keras-guide', settingsGiven(given)).values);
    expect(o.head).toEqual({ hidden: 64, pooling: 'avg', dropout: 0.2 });
    expect(o.frozen).toMatchObject({ epochs: 20, optimizer: { name: 'adam', learningRate: 0.001 } });
    expect(o.unfrozen).toMatchObject({ epochs: 1, gradual: true, unfreeze: 'all', batchNorm: 'frozen', optimizer: { name: 'adam', learningRate: 1e-5 } });
    expect(o.unfrozen!.schedule).toBeUndefined();
    const f = applyRecipe<RecipeTargets>({}, resolveRecipe('fastai', {}).values);
    expect(f.unfrozen).toMatchObject({ schedule: 'one-cycle', discriminative: 0.01, batchNorm: 'train', optimizer: { name: 'adamw', weightDecay: 0.01 } });
    expect(f.frozen).toMatchObject({ epochs: 1, schedule: 'one-cycle:0.99' });
    // A recipe's "none" removes what the options' own phase objects carried.
    const w = applyRecipe<RecipeTargets>({ unfrozen: { epochs: 3, discriminative: 0.1 } }, resolveRecipe('writeup', { discriminative: 1 }).values);
    expect(w.unfrozen!.discriminative).toBeUndefined();
  });

  it('a name that is not a recipe is refused, naming it and the choices', () => {
    expect(() => checkRecipe('keras', '--recipe')).toThrow(GraftError);
    expect(() => checkRecipe('keras', '--recipe')).toThrow(/--recipe must be one of auto, writeup, keras-guide, fastai; received "keras"/);
  });
});

describe("--bn auto's measured meaning", () => {
  it("fine-tuning reused layers runs BatchNorm on its moving statistics; training from scratch trains them", () => {
    expect(resolveBatchNorm('auto', 'bn', 'fine-tune')).toBe('frozen');
    expect(resolveBatchNorm(undefined, 'bn', 'fine-tune')).toBe('frozen');
    expect(resolveBatchNorm('auto', 'bn', 'scratch')).toBe('train');
    expect(resolveBatchNorm(undefined)).toBe('train');
    expect(resolveBatchNorm('train', 'bn', 'fine-tune')).toBe('train');
  });
});
