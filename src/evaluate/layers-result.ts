import type { Interval } from './stats.js';

/** The three arms of Yosinski et al. (2014), "How transferable are features in deep neural networks?". */
export type LayersArm = 'frozen' | 'fine-tuned' | 'scratch';

export interface LayersPoint {
  /** How many of the source's weight layers were copied (1..L). */
  n: number;
  /** The last copied layer. */
  layer: string;
  arms: Record<LayersArm, Interval & { values: number[] }>;
}

export interface LayersResult {
  kind: 'layers';
  createdAt: string;
  graftVersion: string;
  backend: string;
  source: string;
  task: string;
  epochs: number;
  seeds: number[];
  /** Test accuracy per n and arm, mean ± 95% CI over seeds. */
  points: LayersPoint[];
}
