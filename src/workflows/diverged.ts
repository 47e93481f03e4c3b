import { GraftError } from '../errors.js';
import type { EpochRecord, FitResult } from '../train/types.js';

/** The stop reasons of the loss guard (fit's NaN and divergence checks). */
export function stoppedByGuard(stopReason: FitResult['stopReason']): stopReason is 'non-finite-loss' | 'diverged' {
  return stopReason === 'non-finite-loss' || stopReason === 'diverged';
}

/**
 * A run whose loss became NaN or diverged. The workflows throw it instead of saving: the weights
 * are those from before the bad epoch (often the untrained ones), not the result that was asked for,
 * so no run folder is written and an existing one at `out` is left as it was (Keras's TerminateOnNaN,
 * but failing loudly). The history up to the stop is kept here for callers who want to plot it.
 */
export class TrainingDiverged extends GraftError {
  readonly phase: string;
  readonly stopReason: 'non-finite-loss' | 'diverged';
  /** A learning rate worth trying instead. */
  readonly suggestedLearningRate: number;
  /** Epochs finished before the guard stopped the phase, earlier phases' included. */
  readonly history: EpochRecord[];

  constructor(phase: string, result: Pick<FitResult, 'stopReason' | 'guard'> & { stopReason: 'non-finite-loss' | 'diverged' }, history: EpochRecord[], out: string | undefined) {
    const g = result.guard ?? { epoch: history.length + 1, cause: 'the loss guard stopped training', suggestedLearningRate: 0.001 };
    super(
      result.stopReason === 'diverged' ? 'DIVERGED' : 'NON_FINITE_LOSS',
      `Phase "${phase}", epoch ${g.epoch}: ${g.cause}. Nothing was saved${out === undefined ? '' : ` to ${out}`}: these weights are not a trained model. Try a lower learning rate, e.g. ${g.suggestedLearningRate}.`,
    );
    this.name = 'TrainingDiverged';
    this.phase = phase;
    this.stopReason = result.stopReason;
    this.suggestedLearningRate = g.suggestedLearningRate;
    this.history = history;
  }
}
