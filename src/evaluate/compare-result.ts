import type { ControlsRecord } from '../train/callbacks/controls.js';
import type { Interval, Verdict } from './stats.js';

/** Training-set size of a comparison: images per class, or the whole training set. */
export type TrainSize = number | 'all';

/** One trained model of a comparison. */
export interface Trial {
  trainSize: TrainSize;
  seed: number;
  arm: 'transfer' | 'scratch';
  testAccuracy: number;
  /** 1 − accuracy on the test set. */
  testError: number;
  testLoss: number;
  /** Best validation accuracy seen (the split is carved from the training images). */
  valAccuracy?: number;
  /** Epochs actually run (early stopping may end a run early). */
  epochs: number;
  seconds: number;
  /** Number of training images (after the validation split). */
  trainCount: number;
  /** With a class weight: the loss weight each class got in this trial (balanced follows the trial's subsample). */
  classWeights?: Record<string, number>;
  /**
   * Set when the loss guard stopped a phase ('diverged' or 'non-finite-loss'): the trial was scored on
   * the weights from before that epoch, which is not a trained model. Shown beside the trial so a
   * mean that includes it is not mistaken for a clean one.
   */
  stopped?: string;
}

/** The two arms at one training-set size, over all seeds. */
export interface CompareRow {
  trainSize: TrainSize;
  /** Test error of the transferred model: mean and 95% CI over seeds. */
  transfer: Interval;
  /** Test error of the same architecture trained from scratch. */
  scratch: Interval;
  /** Paired difference of test error, transfer − scratch (negative: transfer lowered the error). */
  difference: Interval;
  verdict: Verdict;
  /** scratch error / transfer error ("transfer cut the error N-fold"). */
  errorRatio: number;
}

/** Everything `graft compare` measured; written as compare.json. */
export interface CompareResult {
  kind: 'compare';
  createdAt: string;
  graftVersion: string;
  backend: string;
  /** Where the source model came from. */
  source: string;
  /** Canonical target task spec. */
  task: string;
  classNames: string[];
  seeds: number[];
  /** The budget both arms got, in words and numbers. */
  settings: {
    frozenEpochs: number;
    unfrozenEpochs: number;
    scratchEpochs: number;
    frozenOptimizer: string;
    unfrozenOptimizer: string;
    scratchOptimizer: string;
    valSplit: number;
    earlyStoppingPatience: number | null;
    batchSize: number;
    /** --class-weight as given, on both arms; absent when none. */
    classWeight?: string;
    /** Learning-rate schedules (--frozen-schedule also shapes the scratch arm, --schedule); absent when constant by default. */
    frozenSchedule?: string;
    unfrozenSchedule?: string;
    /** Label smoothing, keep best, reduce on plateau on both arms; absent when none. */
    controls?: ControlsRecord;
    /** Early stopping's metric (--monitor); absent: val_loss. */
    monitor?: string;
    /** --bn for the transfer arm's unfrozen phase; absent: auto. */
    batchNorm?: string;
  };
  rows: CompareRow[];
  trials: Trial[];
  /** Total wall time. */
  seconds: number;
}
