import { GraftError } from '../errors.js';
import type { SampleRows } from './rows.js';

/**
 * How the values in `Dataset.x` are scaled. Decoders produce 'raw' (0..255); `normalizePixels` gives
 * 'unit'. 'features' are not pixels: a frozen base's outputs, computed by graft's feature cache.
 */
export type PixelRange = 'raw' | 'unit' | 'features';

/**
 * A labelled dataset held in typed arrays: graft never makes one tensor per sample.
 * `x` is row-major, `count * sampleSize(sampleShape)` values.
 */
export interface Dataset {
  readonly x: Float32Array;
  /** Shape of one sample, e.g. [28, 28] for Fashion-MNIST, [32, 32, 3] for CIFAR-10. */
  readonly sampleShape: readonly number[];
  /** Integer class labels, 0..classNames.length - 1. */
  readonly y: Int32Array;
  /** Display names, indexed by label. */
  readonly classNames: readonly string[];
  readonly pixelRange: PixelRange;
  /** Human-readable origin, e.g. "fashion-mnist/train". */
  readonly source: string;
  /**
   * Samples kept on disk (rows.ts); `x` is then empty. Read samples with `gatherSamples` or
   * `sampleRange`, which serve both kinds.
   */
  readonly rows?: SampleRows;
}

export function sampleSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function count(ds: Dataset): number {
  return ds.y.length;
}

/** A new dataset holding the samples at `indices`, in that order (labels unchanged). */
export function take(ds: Dataset, indices: ArrayLike<number>, source = ds.source): Dataset {
  if (ds.rows) return { ...ds, rows: ds.rows.select(indices), y: Int32Array.from(indices, (i) => ds.y[i]!), source };
  const size = sampleSize(ds.sampleShape);
  const x = new Float32Array(indices.length * size);
  const y = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    x.set(ds.x.subarray(i * size, (i + 1) * size), k * size);
    y[k] = ds.y[i]!;
  }
  return { ...ds, x, y, source };
}

/** Number of samples per label. */
export function classCounts(ds: Dataset): number[] {
  const counts = new Array<number>(ds.classNames.length).fill(0);
  for (const label of ds.y) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

/** Checks internal consistency; used on data that comes from outside graft. */
export function assertDataset(ds: Dataset): void {
  const size = sampleSize(ds.sampleShape);
  if (ds.rows && (ds.rows.count !== ds.y.length || ds.rows.size !== size)) {
    throw new GraftError('SHAPE_MISMATCH', `Dataset ${ds.source}: its stored rows hold ${ds.rows.count} samples of ${ds.rows.size} values but it has ${ds.y.length} labels of shape [${ds.sampleShape.join(', ')}]. This is a bug in graft.`, { userError: false });
  }
  if (!ds.rows && ds.x.length !== ds.y.length * size) {
    throw new GraftError(
      'SHAPE_MISMATCH',
      `Dataset ${ds.source}: x holds ${ds.x.length} values but ${ds.y.length} labels × sample shape [${ds.sampleShape.join(', ')}] needs ${ds.y.length * size}. Pass one label per sample and the shape of one sample.`,
    );
  }
  for (let i = 0; i < ds.y.length; i++) {
    const label = ds.y[i]!;
    if (label < 0 || label >= ds.classNames.length) {
      throw new GraftError(
        'LABEL_OUT_OF_RANGE',
        `Dataset ${ds.source}: label ${label} at index ${i} is outside 0..${ds.classNames.length - 1} (${ds.classNames.length} class names). Remap labels to 0..k-1 or add the missing class names.`,
      );
    }
  }
}
