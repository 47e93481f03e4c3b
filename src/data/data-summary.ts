import type { ResizeMode } from './image-convert.js';

/** What a run was trained on when the data is the user's own images; saved in run.json as `data`. */
export interface DataSummary {
  kind: 'folder' | 'csv';
  /** The folder or CSV file, absolute. */
  path: string;
  /** How the test (and validation) sets were formed. */
  split: {
    /** 'folders': the user's train/, val/, test/ folders; 'seeded': graft's stratified split. */
    test: 'folders' | 'seeded';
    /** For 'seeded': the fraction of each class held out, and the split's fixed seed. */
    fraction?: number;
    seed?: number;
    /** 'folders', 'seeded' (--val-split, seeded by --seed) or 'none'. */
    validation: 'folders' | 'seeded' | 'none';
  };
  /** Images per part after skipping, subsampling and splitting. */
  sizes: { train: number; validation?: number; test: number };
  /** Images per class (label order) in each part. */
  classCounts: { train: number[]; validation?: number[]; test: number[] };
  /** Largest ÷ smallest class count in the training part. */
  imbalance: number;
  /** Every image was fitted to this [height, width, channels] with `resize`. */
  sampleShape: number[];
  resize: ResizeMode;
  /** Files that could not be used; `skipped` lists the first SKIPPED_LISTED of them. */
  skippedCount: number;
  skipped: { file: string; reason: string }[];
}

/** Skipped files named one by one in run.json (the count covers the rest). */
export const SKIPPED_LISTED = 100;
