import type { CompareResult } from '../evaluate/compare-result.js';
import type { LayersResult } from '../evaluate/layers-result.js';
import type { SweepResult } from '../evaluate/sweep-result.js';
import type { RunInfo } from '../io/run-dir.js';
import type { ExampleImage } from './examples.js';
import type { LrFindRecord } from './lr-find-section.js';

/** One row of the table `graft seed` prints (seed.json's rows). */
export interface SeedTableRow {
  model: string;
  phase: string;
  epochs: number;
  seconds: number;
  testAccuracy: number;
}

/** One run directory as the report shows it. */
export interface ReportRun {
  /** Shown as the section title: the run folder's name, e.g. "model-b". */
  name: string;
  run: RunInfo;
  /** Misclassified test images (examples.json); no grid when absent. */
  examples?: ExampleImage[];
}

/** Everything one report shows; each part is optional except the title. */
export interface ReportInput {
  title: string;
  runs: ReportRun[];
  compare?: CompareResult;
  /** The table `graft seed` printed (seed.json). */
  seed?: { rows: SeedTableRow[] };
  /** `graft layers` output (layers.json). */
  layers?: LayersResult;
  /** `graft sweep` output (sweep.json). */
  sweep?: SweepResult;
  /** `graft lr-find` output (lr-find.json). */
  lrFind?: LrFindRecord;
}
