import type { ControlsRecord } from '../train/callbacks/controls.js';
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
  /** How every arm trained (optimizer, and issue 16's options when set); absent in files from before it was recorded. */
  settings?: {
    optimizer: string;
    batchSize: number;
    schedule?: string;
    classWeight?: string;
    valSplit?: number;
    controls?: ControlsRecord;
    monitor?: string;
    batchNorm?: string;
  };
  /** Test accuracy per n and arm, mean ± 95% CI over seeds. */
  points: LayersPoint[];
}
