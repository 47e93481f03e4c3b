import { GraftError } from '../errors.js';

/**
 * The arithmetic of Smith's learning-rate range test, kept apart from training so each rule can be
 * checked on synthetic curves: the exponential rate ramp, fastai's bias-corrected loss smoothing,
 * its stop rule and the two suggestions.
 */

/** Defaults of `lrFind` (and `graft lr-find`), stated once. β and the stop factor are fastai's. */
export const LR_FIND_DEFAULTS = { min: 1e-7, max: 10, steps: 100, beta: 0.98, stopFactor: 4 } as const;

/** Refuses a range the test cannot sweep: both ends finite and positive, min < max, at least 2 steps. */
export function checkLrRange(min: number, max: number, steps: number): void {
  const fix = `Pass 0 < min < max, e.g. min ${LR_FIND_DEFAULTS.min} and max ${LR_FIND_DEFAULTS.max}, and a whole number of steps ≥ 2 (default ${LR_FIND_DEFAULTS.steps}).`;
  if (!(Number.isFinite(min) && min > 0)) throw new GraftError('BAD_ARGUMENT', `The learning-rate range needs a positive finite minimum; received min ${min}. ${fix}`);
  if (!(Number.isFinite(max) && max > 0)) throw new GraftError('BAD_ARGUMENT', `The learning-rate range needs a positive finite maximum; received max ${max}. ${fix}`);
  if (!(min < max)) throw new GraftError('BAD_ARGUMENT', `The learning-rate range must rise: min ${min} is not below max ${max}. ${fix}`);
  if (!(Number.isInteger(steps) && steps >= 2)) throw new GraftError('BAD_ARGUMENT', `The range test needs a whole number of steps ≥ 2; received ${steps}. ${fix}`);
}

/** The rate of step i (0-based) of `steps`: min at the first, max at the last, a constant ratio between. */
export function rangeRate(min: number, max: number, steps: number, i: number): number {
  if (i === steps - 1) return max; // exact, not max × rounding
  return min * Math.pow(max / min, i / (steps - 1));
}

/** Exponential moving average of the loss, divided by (1 − βⁿ) so the first values are not pulled towards 0. */
export class LossSmoother {
  private avg = 0;
  private n = 0;
  constructor(private readonly beta: number = LR_FIND_DEFAULTS.beta) {
    if (!(beta >= 0 && beta < 1)) throw new GraftError('BAD_ARGUMENT', `The smoothing factor β must be in [0, 1); received ${beta}. Use fastai's ${LR_FIND_DEFAULTS.beta}.`);
  }
  /** Adds one step's loss; returns the smoothed loss so far. */
  add(loss: number): number {
    this.n++;
    this.avg = this.beta * this.avg + (1 - this.beta) * loss;
    return this.avg / (1 - Math.pow(this.beta, this.n));
  }
}

/** fastai's rule: the test ends once the smoothed loss is not finite or exceeds `factor` × the best so far. */
export function divergedLoss(smoothed: number, best: number, factor: number = LR_FIND_DEFAULTS.stopFactor): boolean {
  return !Number.isFinite(smoothed) || smoothed > factor * best;
}

export interface LrSuggestion {
  /** The rate where the smoothed loss falls fastest per unit of log(rate) (torch-lr-finder's, fastai's `steep`). */
  steepest?: number;
  /** The rate of the lowest smoothed loss divided by 10 (fastai's `minimum`). */
  minimumOverTen?: number;
  /** The one printed: steepest (see `suggestRates`), else minimumOverTen. */
  suggested?: number;
}

/**
 * Both suggestions on the curve, as fastai computes them: the first tenth of the points (the
 * smoother's warm-up) and the last 5 (where the loss blows up) are left out while enough remain.
 * `suggested` is the steepest point, as torch-lr-finder suggests: over 6 seeds of an MLP on
 * synthetic data (README) it moved by at most 0.17 decades with SGD and with Adam, while the
 * minimum ÷ 10 moved by 0.73 decades with Adam (its minimum jumps between two dips of the curve).
 */
export function suggestRates(rates: readonly number[], smoothed: readonly number[]): LrSuggestion {
  const n = Math.min(rates.length, smoothed.length);
  let lo = Math.floor(n / 10);
  let hi = n - 5;
  if (hi - lo < 3) [lo, hi] = [0, n];
  const out: LrSuggestion = {};
  let best = -1;
  for (let i = lo; i < hi; i++) if (Number.isFinite(smoothed[i]!) && (best < 0 || smoothed[i]! < smoothed[best]!)) best = i;
  if (best >= 0) out.minimumOverTen = rates[best]! / 10;
  let steep = -1;
  let slope = Infinity;
  for (let i = lo; i + 1 < hi; i++) {
    const g = (smoothed[i + 1]! - smoothed[i]!) / (Math.log(rates[i + 1]!) - Math.log(rates[i]!));
    if (Number.isFinite(g) && g < slope) [slope, steep] = [g, i];
  }
  if (steep >= 0) out.steepest = rates[steep]!;
  const suggested = out.steepest ?? out.minimumOverTen;
  if (suggested !== undefined) out.suggested = suggested;
  return out;
}
