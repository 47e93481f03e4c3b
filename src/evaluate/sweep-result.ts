import type { ControlsRecord } from '../train/callbacks/controls.js';
export interface SweepConfig {
  cut: string | number | null;
  freeze: string;
  frozenEpochs: number;
  unfrozenEpochs: number;
  frozenLr: number;
  unfrozenLr: number;
}

export interface SweepTrial {
  config: SweepConfig;
  valAccuracy: number;
  valLoss: number;
  seconds: number;
  /** Set when the loss guard stopped a phase ('diverged', 'non-finite-loss'): scored on weights that did not train. */
  stopped?: string;
}

export interface SweepResult {
  kind: 'sweep';
  createdAt: string;
  graftVersion: string;
  backend: string;
  source: string;
  task: string;
  mode: 'grid' | 'random';
  /** The file's classWeight, used by every configuration, and the weight each class got; absent when none. */
  classWeight?: string;
  classWeights?: Record<string, number>;
  /** What every configuration shared beside the swept knobs (optimizer without its rate, schedules, issue 16's controls); absent in files from before it was recorded. */
  settings?: {
    optimizer: { name: string; momentum: number; weightDecay: number; rho: number; epsilon: number };
    frozenSchedule?: string;
    unfrozenSchedule?: string;
    controls?: ControlsRecord;
    monitor?: string;
    batchNorm?: string;
  };
  /** How many configurations were trained and scored on the validation split. */
  tried: number;
  trials: SweepTrial[];
  /** The configuration with the best validation accuracy (ties: lower validation loss). */
  best: SweepTrial & { testAccuracy: number; testLoss: number };
  /** Words for the reader: the best-of-N validation score is optimistic; the test score is not. */
  caveat: string;
}

/**
 * The sweep's choice between two tried configurations: the higher validation accuracy wins; on a
 * tie, the lower validation loss; on a full tie the earlier one stays. A NaN score (a run that
 * diverged) ranks below every number, so it is never chosen over a configuration that trained.
 */
export function betterTrial(candidate: Pick<SweepTrial, 'valAccuracy' | 'valLoss' | 'stopped'>, incumbent: Pick<SweepTrial, 'valAccuracy' | 'valLoss' | 'stopped'>): boolean {
  // A configuration the loss guard stopped never wins over one that trained, whatever its score by luck.
  if (Boolean(candidate.stopped) !== Boolean(incumbent.stopped)) return !candidate.stopped;
  const acc = (t: Pick<SweepTrial, 'valAccuracy'>): number => (Number.isNaN(t.valAccuracy) ? -Infinity : t.valAccuracy);
  const loss = (t: Pick<SweepTrial, 'valLoss'>): number => (Number.isNaN(t.valLoss) ? Infinity : t.valLoss);
  if (acc(candidate) !== acc(incumbent)) return acc(candidate) > acc(incumbent);
  return loss(candidate) < loss(incumbent);
}
