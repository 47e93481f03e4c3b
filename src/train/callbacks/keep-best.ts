import type * as tfl from '@tensorflow/tfjs-layers';
import { checkWeights, type KeepBestState } from '../checkpoint.js';
import { WeightSnapshot } from '../snapshot.js';
import type { EpochRecord } from '../types.js';
import { checkMonitor, DEFAULT_MONITOR, monitorScore, type MonitorMetric } from './monitor.js';

export interface KeepBestOptions {
  /** Validation metric that decides which epoch is best (callbacks/monitor.ts). Default val_loss. */
  monitor?: MonitorMetric;
}

/**
 * Keras's ModelCheckpoint(save_best_only=True) kept in memory: after every epoch, the weights of
 * the best epoch so far by `monitor` are copied; at the end of the fit the model gets them back.
 * Ties keep the earlier epoch (only a strict improvement counts, as Keras).
 */
export class KeepBest {
  readonly monitor: MonitorMetric;
  bestEpoch: number | undefined;
  /** Best score so far, lower is better (monitor.ts lowerIsBetter). */
  private best = Infinity;
  private readonly snapshot = new WeightSnapshot();

  constructor(options: KeepBestOptions = {}) {
    this.monitor = checkMonitor(options.monitor ?? DEFAULT_MONITOR, 'keepBest.monitor');
  }

  /** Looks at a finished epoch; snapshots the model when it is the best so far. */
  update(model: tfl.LayersModel, record: EpochRecord): void {
    const score = monitorScore(record, this.monitor, 'Keeping the best weights');
    if (score < this.best) {
      this.best = score;
      this.bestEpoch = record.epoch;
      this.snapshot.take(model);
    }
  }

  /** Puts the best epoch's weights back (nothing when no epoch finished). */
  restore(model: tfl.LayersModel): void {
    this.snapshot.restore(model);
  }

  state(): KeepBestState {
    const s: KeepBestState = { best: this.best };
    if (this.bestEpoch !== undefined) s.bestEpoch = this.bestEpoch;
    const weights = this.snapshot.toArrays();
    if (weights) s.bestWeights = weights;
    return s;
  }

  restoreState(model: tfl.LayersModel, s: KeepBestState): void {
    this.best = s.best;
    this.bestEpoch = s.bestEpoch;
    if (s.bestWeights) {
      checkWeights(model, s.bestWeights, "The checkpoint's kept best weights");
      this.snapshot.load(model, s.bestWeights);
    }
  }

  dispose(): void {
    this.snapshot.dispose();
  }
}
