import type { OptimizerName } from './optimizer.js';
import type { OutputHead } from './loss.js';

/**
 * When a finite loss counts as diverged. The yardstick is the larger of the chance-level loss
 * (ln k for k classes: what a model that knows nothing scores) and the loss at the starting weights
 * (a legitimately high start, e.g. a confident wrong head, raises the bar with it).
 * - `explode`: a running loss this many times the yardstick stops training at once, mid-epoch.
 * - `sustained`: an epoch mean this many times the yardstick, twice in a row and not falling by
 *   `fallRatio`, also counts (a net whose units died after a blow-up sits at ~20× ln k for good).
 * Healthy training stays below its starting loss after the first steps; neither rule comes close.
 */
export const DIVERGENCE = { explode: 100, sustained: 10, fallRatio: 0.9 } as const;

/** Usual starting rates, the ceiling of a suggestion (a tenth of lr 100 would still diverge). */
const USUAL_RATES: Record<OptimizerName, number> = { sgd: 0.01, adam: 0.001, adamw: 0.001, rmsprop: 0.001 };

/** Cross-entropy of a uniform guess over the head's classes. */
export function chanceLoss(head: OutputHead): number {
  return Math.log(head.classes);
}

/** The loss that divergence is measured against (see DIVERGENCE). */
export function divergenceYardstick(chance: number, startLoss: number | undefined): number {
  return startLoss !== undefined && Number.isFinite(startLoss) ? Math.max(chance, startLoss) : chance;
}

/** Why a running loss within an epoch counts as diverged, or undefined. */
export function explodedLoss(loss: number, yardstick: number): string | undefined {
  if (!(loss > DIVERGENCE.explode * yardstick)) return undefined;
  return `the loss grew to ${formatLoss(loss)}, over ${DIVERGENCE.explode}× its starting level ${formatLoss(yardstick)}`;
}

/** Why an epoch's mean loss (after `previous`, the last epoch's, if any) counts as diverged, or undefined. */
export function divergedEpoch(loss: number, previous: number | undefined, yardstick: number): string | undefined {
  const exploded = explodedLoss(loss, yardstick);
  if (exploded) return exploded;
  const high = DIVERGENCE.sustained * yardstick;
  if (previous === undefined || !(loss > high && previous > high && loss > DIVERGENCE.fallRatio * previous)) return undefined;
  return `the loss stayed above ${DIVERGENCE.sustained}× its starting level ${formatLoss(yardstick)} for two epochs (${formatLoss(previous)}, then ${formatLoss(loss)}) without falling`;
}

/**
 * A learning rate worth trying after `rate` diverged: a tenth of it, at most the optimizer's usual
 * rate, rounded down to 1 or 3 × a power of ten so it reads as a human would write it.
 */
export function suggestLearningRate(rate: number, optimizer: OptimizerName): number {
  const target = Math.min(rate / 10, USUAL_RATES[optimizer]);
  if (!(target > 0)) return USUAL_RATES[optimizer];
  // The small offset keeps exact powers of ten (whose log10 may land just below) in their decade.
  const exponent = Math.floor(Math.log10(target) + 1e-9);
  const mantissa = target / 10 ** exponent >= 3 ? 3 : 1;
  return Number((mantissa * 10 ** exponent).toPrecision(1));
}

/** Three significant digits, exponent form only for very large or small values. */
export function formatLoss(loss: number): string {
  if (!Number.isFinite(loss)) return String(loss);
  const a = Math.abs(loss);
  return a !== 0 && (a >= 1e6 || a < 1e-3) ? loss.toExponential(2) : String(Number(loss.toPrecision(3)));
}

/** Stop reasons of the loss guard (fit.ts): the phase ended on weights that did not train. */
export const GUARD_STOPS: readonly string[] = ['diverged', 'non-finite-loss'];
