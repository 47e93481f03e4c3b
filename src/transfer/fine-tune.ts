import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset.js';
import { fit, type FitOptions } from '../train/fit.js';
import { resolveOptimizer, type OptimizerSpec } from '../train/optimizer.js';
import type { FitResult } from '../train/types.js';
import { applyUnfreeze, type UnfreezePolicy } from './freeze.js';
import type { TransferredModel } from './transfer.js';

export interface PhaseOptions {
  /** Epochs of this phase. */
  epochs: number;
  optimizer?: OptimizerSpec;
}

export interface FineTuneOptions extends Pick<FitOptions, 'batchSize' | 'seed' | 'validation' | 'earlyStopping' | 'callbacks'> {
  /** Phase 1: reused layers frozen as `transfer` left them; only the rest trains. Default sgd 0.001 × 4 (the write-up's Model B). */
  frozen?: PhaseOptions;
  /** Phase 2: unfrozen. Default 16 epochs, same optimizer as phase 1 at a tenth of its learning rate. */
  unfrozen?: PhaseOptions & { unfreeze?: UnfreezePolicy };
  /** Called after each phase, before the next one changes trainability (e.g. to score the frozen model). */
  onPhaseEnd?: (result: PhaseResult) => void | Promise<void>;
}

export const FINE_TUNE_DEFAULTS = {
  frozen: { epochs: 4, optimizer: { name: 'sgd', learningRate: 0.001 } },
  unfrozen: { epochs: 16, unfreeze: 'all', learningRateFactor: 0.1 },
} as const;

export interface PhaseResult extends FitResult {
  name: 'frozen' | 'unfrozen';
  optimizer: Required<OptimizerSpec>;
  /** Layers whose weights could change in this phase. */
  trainableLayers: string[];
  seconds: number;
}

/**
 * fastai's recipe in two phases: train the new head with the reused layers frozen, then unfreeze
 * and train everything at a lower learning rate. Phase 2 is skipped when phase 1 stopped on a
 * non-finite loss.
 */
export async function fineTune(t: TransferredModel, data: Dataset, options: FineTuneOptions = {}): Promise<PhaseResult[]> {
  const frozenOpts = options.frozen ?? FINE_TUNE_DEFAULTS.frozen;
  const frozenOptimizer = resolveOptimizer(frozenOpts.optimizer ?? FINE_TUNE_DEFAULTS.frozen.optimizer);
  const unfrozenOpts = options.unfrozen ?? { epochs: FINE_TUNE_DEFAULTS.unfrozen.epochs };
  const unfrozenOptimizer = resolveOptimizer(
    unfrozenOpts.optimizer ?? { ...frozenOptimizer, learningRate: frozenOptimizer.learningRate * FINE_TUNE_DEFAULTS.unfrozen.learningRateFactor },
  );
  const common = { batchSize: options.batchSize, seed: options.seed, validation: options.validation, earlyStopping: options.earlyStopping, callbacks: options.callbacks };
  const results: PhaseResult[] = [];

  const first = await runPhase(t.model, data, 'frozen', frozenOpts.epochs, frozenOptimizer, common);
  results.push(first);
  await options.onPhaseEnd?.(first);
  if (first.stopReason === 'non-finite-loss' || unfrozenOpts.epochs === 0) return results;

  applyUnfreeze(t.reused, unfrozenOpts.unfreeze ?? FINE_TUNE_DEFAULTS.unfrozen.unfreeze);
  const second = await runPhase(t.model, data, 'unfrozen', unfrozenOpts.epochs, unfrozenOptimizer, common);
  results.push(second);
  await options.onPhaseEnd?.(second);
  return results;
}

async function runPhase(
  model: tfl.LayersModel,
  data: Dataset,
  name: PhaseResult['name'],
  epochs: number,
  optimizer: Required<OptimizerSpec>,
  common: Omit<FitOptions, 'epochs'>,
): Promise<PhaseResult> {
  const trainableLayers = model.layers.filter((l) => l.trainable && l.trainableWeights.length > 0).map((l) => l.name);
  const started = performance.now();
  const result = await fit(model, data, { ...common, epochs, optimizer, phase: name });
  return { ...result, name, optimizer, trainableLayers, seconds: (performance.now() - started) / 1000 };
}
