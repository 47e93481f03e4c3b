import { GraftError } from '../errors.js';
import type { Dataset, PixelRange } from './dataset.js';

/**
 * Pixel scaling, exactly once. The write-up's Model B divided its images by 255 twice, so the
 * network saw values in [0, 0.004] and nothing said so; the `pixelRange` flag makes that an error.
 */

/** 'raw' when any value exceeds 1, else 'unit'. A guess for data from outside graft. */
export function inferPixelRange(x: Float32Array): PixelRange {
  for (let i = 0; i < x.length; i++) if (x[i]! > 1) return 'raw';
  return 'unit';
}

/** Divides raw 0..255 pixels by 255; refuses data that is already scaled. */
export function normalizePixels(ds: Dataset): Dataset {
  if (ds.pixelRange === 'features') {
    throw new GraftError('BAD_ARGUMENT', `Dataset ${ds.source} holds features computed by a model, not pixels; they must not be scaled.`);
  }
  if (ds.pixelRange === 'unit') {
    throw new GraftError(
      'DOUBLE_NORMALIZATION',
      `Dataset ${ds.source} is already scaled to [0, 1] (pixelRange 'unit'); dividing by 255 again would repeat the write-up's bug where Model B's images were divided by 255 twice. Pass the dataset as it is.`,
    );
  }
  // Stored rows are bytes graft decoded: scaled as they are read.
  if (ds.rows) return { ...ds, rows: ds.rows.dividedBy(255), pixelRange: 'unit' };
  // Raw pixels from a decoder are at most 255; if a 'raw' dataset holds only fractions in [0, 1],
  // someone scaled it without updating the flag.
  let max = 0;
  let fractional = false;
  for (let i = 0; i < ds.x.length; i++) {
    const v = ds.x[i]!;
    if (v > max) max = v;
    if (!fractional && v !== Math.trunc(v)) fractional = true;
  }
  if (max <= 1 && fractional) {
    throw new GraftError(
      'DOUBLE_NORMALIZATION',
      `Dataset ${ds.source} is marked pixelRange 'raw' but its values lie in [0, ${max}], so it looks already divided by 255; dividing again would repeat Model B's double-normalisation bug. Set pixelRange: 'unit' and pass the dataset as it is.`,
    );
  }
  const x = new Float32Array(ds.x.length);
  for (let i = 0; i < x.length; i++) x[i] = ds.x[i]! / 255;
  return { ...ds, x, pixelRange: 'unit' };
}

/** Checks that data handed in from outside really is in [0, 1] before a model sees it. */
export function assertUnitRange(ds: Dataset, what: string): void {
  // Features come from graft's own cache, computed from checked pixels.
  if (ds.pixelRange === 'features') return;
  if (ds.pixelRange !== 'unit') {
    throw new GraftError(
      'UNNORMALIZED_INPUT',
      `The ${what} (${ds.source}) has pixelRange ${JSON.stringify(ds.pixelRange)}, but models expect values in [0, 1]. Call normalizePixels on it once before training or evaluating.`,
    );
  }
  // Stored rows are bytes over 255 (normalizePixels), in [0, 1] by construction; x is empty then.
  for (let i = 0; i < ds.x.length; i++) {
    const v = ds.x[i]!;
    if (!(v >= 0 && v <= 1)) {
      throw new GraftError(
        'UNNORMALIZED_INPUT',
        `The ${what} (${ds.source}) is marked pixelRange 'unit' but value ${i} is ${v}, outside [0, 1]. Mark 0..255 data as pixelRange 'raw' and call normalizePixels once.`,
      );
    }
  }
}
