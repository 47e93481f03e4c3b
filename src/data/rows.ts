import { gatherBatch } from './batch.js';
import { sampleSize, type Dataset } from './dataset.js';

/**
 * Samples that stay on disk: a large image set is decoded once into graft's cache and read back a
 * batch at a time, so training holds a few batches instead of the whole set (a 50,000-photo folder
 * at 96×96 is 5.5 GB as float32). A Dataset with `rows` has an empty `x`; everything that reads
 * samples goes through `gatherSamples` / `sampleRange` below, which serve both kinds.
 */
export interface SampleRows {
  /** Number of samples. */
  readonly count: number;
  /** Values per sample. */
  readonly size: number;
  /** Copies samples `indices[start..end)` into `out` as float32; returns the filled view. */
  read(indices: ArrayLike<number>, start: number, end: number, out: Float32Array): Float32Array;
  /** The samples at `indices` of this source, in that order. */
  select(indices: ArrayLike<number>): SampleRows;
  /** The same samples, each value divided by `divisor` as it is read (normalizePixels: 255). */
  dividedBy(divisor: number): SampleRows;
}

/** Copies samples `indices[start..end)` of `ds` into `out`; returns the filled view. */
export function gatherSamples(ds: Dataset, indices: ArrayLike<number>, start: number, end: number, out: Float32Array): Float32Array {
  if (ds.rows) return ds.rows.read(indices, start, end, out);
  return gatherBatch(ds.x, sampleSize(ds.sampleShape), indices, start, end, out);
}

/** Identity indices 0..n-1, shared: contiguous reads index through it. */
let identity = new Int32Array(0);
function firstIndices(n: number): Int32Array {
  if (identity.length < n) identity = Int32Array.from({ length: Math.max(n, 2 * identity.length) }, (_, i) => i);
  return identity;
}

/**
 * Samples `start..end` of `ds` as one contiguous block: a view of `x` for in-memory sets (no copy),
 * else read into `out` (allocated when not given).
 */
export function sampleRange(ds: Dataset, start: number, end: number, out?: Float32Array): Float32Array {
  const size = sampleSize(ds.sampleShape);
  if (!ds.rows) return ds.x.subarray(start * size, end * size);
  const buf = out && out.length >= (end - start) * size ? out : new Float32Array((end - start) * size);
  const ids = firstIndices(end);
  return ds.rows.read(ids, start, end, buf);
}
