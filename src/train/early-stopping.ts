import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { WeightSnapshot } from './snapshot.js';
import { checkWeights, type EarlyStoppingState } from './checkpoint.js';
import type { EpochRecord } from './types.js';
import { checkMonitor, DEFAULT_MONITOR, monitorScore, type MonitorMetric } from './callbacks/monitor.js';

export interface EarlyStoppingOptions {
  /** Epochs without improvement before stopping. Default 3. */
  patience?: number;
  /** Smallest change of the watched metric that counts as improvement. Default 0. */
  minDelta?: number;
  /** Validation metric watched (callbacks/monitor.ts): val_loss (default), val_accuracy, val_auc, … */
  monitor?: MonitorMetric;
  /** Put back the weights of the best epoch when stopping. Default true. */
  restoreBest?: boolean;
}

export const EARLY_STOPPING_DEFAULTS = { patience: 3, minDelta: 0, restoreBest: true, monitor: DEFAULT_MONITOR } as const;

/** Watches a validation metric (loss by default); `update` returns true when training should stop. */
export class EarlyStopping {
  readonly monitor: MonitorMetric;
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBest: boolean;
  bestEpoch: number | undefined;
  /** Best score so far, lower is better (monitor.ts lowerIsBetter): the checkpoint format stays as it was for val_loss. */
  private best = Infinity;
  private wait = 0;
  private readonly snapshot = new WeightSnapshot();

  constructor(options: EarlyStoppingOptions) {
    const o = { ...EARLY_STOPPING_DEFAULTS, ...options };
    if (!Number.isInteger(o.patience) || o.patience < 1) {
      throw new GraftError('BAD_ARGUMENT', `Early-stopping patience must be a whole number ≥ 1; received ${o.patience}.`);
    }
    this.monitor = checkMonitor(o.monitor, 'earlyStopping.monitor');
    this.patience = o.patience;
    this.minDelta = o.minDelta;
    this.restoreBest = o.restoreBest;
  }

  update(model: tfl.LayersModel, record: EpochRecord): boolean {
    const score = monitorScore(record, this.monitor, 'Early stopping');
    if (score < this.best - this.minDelta) {
      this.best = score;
      this.bestEpoch = record.epoch;
      this.wait = 0;
      if (this.restoreBest) this.snapshot.take(model);
      return false;
    }
    this.wait++;
    return this.wait >= this.patience;
  }

  restore(model: tfl.LayersModel): void {
    this.snapshot.restore(model);
  }

  /** Everything update() has learnt so far, for checkpoints. */
  state(): EarlyStoppingState {
    const s: EarlyStoppingState = { best: this.best, wait: this.wait };
    if (this.bestEpoch !== undefined) s.bestEpoch = this.bestEpoch;
    const weights = this.snapshot.toArrays();
    if (weights) s.bestWeights = weights;
    return s;
  }

  restoreState(model: tfl.LayersModel, s: EarlyStoppingState): void {
    this.best = s.best;
    this.wait = s.wait;
    this.bestEpoch = s.bestEpoch;
    if (s.bestWeights) {
      checkWeights(model, s.bestWeights, 'The checkpoint\'s best-epoch weights');
      this.snapshot.load(model, s.bestWeights);
    }
  }

  dispose(): void {
    this.snapshot.dispose();
  }
}
