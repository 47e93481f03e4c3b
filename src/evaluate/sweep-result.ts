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
}

export interface SweepResult {
  kind: 'sweep';
  createdAt: string;
  graftVersion: string;
  backend: string;
  source: string;
  task: string;
  mode: 'grid' | 'random';
  /** How many configurations were trained and scored on the validation split. */
  tried: number;
  trials: SweepTrial[];
  /** The configuration with the best validation accuracy (ties: lower validation loss). */
  best: SweepTrial & { testAccuracy: number; testLoss: number };
  /** Words for the reader: the best-of-N validation score is optimistic; the test score is not. */
  caveat: string;
}
