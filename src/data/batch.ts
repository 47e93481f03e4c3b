import { GraftError } from '../errors.js';

/**
 * Batch assembly: the training loop's only copy. Rows are gathered into a reused buffer so an epoch
 * allocates nothing per batch; the returned subarray is a view whose length matches the batch.
 */

function checkRange(what: string, rows: number, indices: ArrayLike<number>, start: number, end: number, needed: number, outLength: number): void {
  if (!(start >= 0 && start <= end && end <= indices.length)) {
    throw new GraftError('BAD_ARGUMENT', `${what}: batch range [${start}, ${end}) is outside the ${indices.length} indices. Pass 0 ≤ start ≤ end ≤ indices.length.`);
  }
  if (outLength < needed) {
    throw new GraftError('BAD_ARGUMENT', `${what}: output buffer holds ${outLength} values but the batch needs ${needed}. Allocate batchSize × sample size values.`);
  }
  for (let k = start; k < end; k++) {
    const i = indices[k]!;
    if (!(i >= 0 && i < rows && Number.isInteger(i))) {
      throw new GraftError('BAD_ARGUMENT', `${what}: index ${i} at position ${k} is outside 0..${rows - 1}. Indices must refer to samples of the dataset.`);
    }
  }
}

/** Copies the rows `indices[start..end)` of `x` (rows of `size` values) into `out`; returns the filled view. */
export function gatherBatch(x: Float32Array, size: number, indices: ArrayLike<number>, start: number, end: number, out: Float32Array): Float32Array {
  const m = end - start;
  checkRange('gatherBatch', size > 0 ? Math.floor(x.length / size) : 0, indices, start, end, m * size, out.length);
  if (size >= 16) {
    // Long rows: `set` is a memcpy.
    for (let k = 0; k < m; k++) {
      const from = indices[start + k]! * size;
      out.set(x.subarray(from, from + size), k * size);
    }
  } else {
    // Short rows: a plain loop avoids a subarray object per row.
    for (let k = 0, o = 0; k < m; k++) {
      const from = indices[start + k]! * size;
      for (let j = 0; j < size; j++) out[o++] = x[from + j]!;
    }
  }
  return out.subarray(0, m * size);
}

/** Copies the labels `y[indices[start..end)]` into `out` as floats; returns the filled view. */
export function gatherLabels(y: ArrayLike<number>, indices: ArrayLike<number>, start: number, end: number, out: Float32Array): Float32Array {
  const m = end - start;
  checkRange('gatherLabels', y.length, indices, start, end, m, out.length);
  for (let k = 0; k < m; k++) out[k] = y[indices[start + k]!]!;
  return out.subarray(0, m);
}
