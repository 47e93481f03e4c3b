import { GraftError } from '../../errors.js';
import type { ReduceOnPlateauState } from '../checkpoint.js';
import type { EpochRecord } from '../types.js';
import { checkMonitor, DEFAULT_MONITOR, monitorScore, type MonitorMetric } from './monitor.js';

export interface ReduceOnPlateauOptions {
  /** Validation metric watched. Default val_loss. */
  monitor?: MonitorMetric;
  /** Multiplies the rate on a plateau; in (0, 1). Default 0.1. */
  factor?: number;
  /** Epochs without improvement before the rate drops. Default 10. */
  patience?: number;
  /** Smallest change of the metric that counts as improvement (absolute). Default 1e-4. */
  minDelta?: number;
  /** Epochs after a drop during which no plateau is counted. Default 0. */
  cooldown?: number;
  /** The rate never drops below this (the phase's base rate × factor, per layer scale aside). Default 0. */
  minLearningRate?: number;
}

/** Keras's ReduceLROnPlateau defaults. */
export const REDUCE_ON_PLATEAU_DEFAULTS = { monitor: DEFAULT_MONITOR, factor: 0.1, patience: 10, minDelta: 1e-4, cooldown: 0, minLearningRate: 0 } as const;

/**
 * Keras's ReduceLROnPlateau: after `patience` epochs without an improvement of more than
 * `minDelta`, the rate is multiplied by `factor` (not below `minLearningRate`), then `cooldown`
 * epochs pass before waiting starts again. It holds the factor on the phase's base rate; fit hands
 * it to the Stepper (setLearningRateFactor) so both engines train at the reduced rate.
 */
export class ReduceOnPlateau {
  readonly monitor: MonitorMetric;
  readonly factor: number;
  readonly patience: number;
  readonly minDelta: number;
  readonly cooldown: number;
  readonly minLearningRate: number;
  /** The current multiplier of the base rate (1 until the first plateau). */
  rateFactor = 1;
  private best = Infinity;
  private wait = 0;
  private cooldownLeft = 0;

  constructor(options: ReduceOnPlateauOptions = {}) {
    const o = { ...REDUCE_ON_PLATEAU_DEFAULTS, ...options };
    this.monitor = checkMonitor(o.monitor, 'reduceOnPlateau.monitor');
    if (!(o.factor > 0 && o.factor < 1)) throw new GraftError('BAD_ARGUMENT', `reduceOnPlateau.factor must be between 0 and 1 (exclusive); received ${o.factor}. Keras's default is 0.1.`);
    if (!Number.isInteger(o.patience) || o.patience < 1) throw new GraftError('BAD_ARGUMENT', `reduceOnPlateau.patience must be a whole number ≥ 1; received ${o.patience}.`);
    if (!Number.isInteger(o.cooldown) || o.cooldown < 0) throw new GraftError('BAD_ARGUMENT', `reduceOnPlateau.cooldown must be a whole number ≥ 0; received ${o.cooldown}.`);
    if (!(o.minDelta >= 0) || !(o.minLearningRate >= 0)) throw new GraftError('BAD_ARGUMENT', `reduceOnPlateau.minDelta and minLearningRate must be ≥ 0; received ${o.minDelta} and ${o.minLearningRate}.`);
    this.factor = o.factor;
    this.patience = o.patience;
    this.minDelta = o.minDelta;
    this.cooldown = o.cooldown;
    this.minLearningRate = o.minLearningRate;
  }

  /**
   * Looks at a finished epoch, trained at `baseRate` × rateFactor; returns the new rate factor when
   * the rate drops now, else undefined. Keras's order: cooldown counts down first, then the
   * improvement test, then (outside cooldown) the wait.
   */
  update(record: EpochRecord, baseRate: number): number | undefined {
    const score = monitorScore(record, this.monitor, 'Reduce-on-plateau');
    if (this.cooldownLeft > 0) {
      this.cooldownLeft--;
      this.wait = 0;
    }
    if (score < this.best - this.minDelta) {
      this.best = score;
      this.wait = 0;
      return undefined;
    }
    if (this.cooldownLeft > 0) return undefined;
    this.wait++;
    if (this.wait < this.patience) return undefined;
    const rate = baseRate * this.rateFactor;
    if (!(rate > this.minLearningRate)) return undefined;
    this.rateFactor = rate * this.factor >= this.minLearningRate ? this.rateFactor * this.factor : this.minLearningRate / baseRate;
    this.cooldownLeft = this.cooldown;
    this.wait = 0;
    return this.rateFactor;
  }

  state(): ReduceOnPlateauState {
    return { best: this.best, wait: this.wait, cooldownLeft: this.cooldownLeft, rateFactor: this.rateFactor };
  }

  restoreState(s: ReduceOnPlateauState): void {
    this.best = s.best;
    this.wait = s.wait;
    this.cooldownLeft = s.cooldownLeft;
    this.rateFactor = s.rateFactor;
  }
}
