import { readSync } from 'node:fs';
import { GraftError } from '../errors.js';
import type { SampleRows } from '../data/rows.js';

/**
 * Samples read from a block of 0..255 bytes inside a file (the decode cache: one row of
 * height × width × channels bytes per image). The file is opened once per process and read with
 * positioned reads through a descriptor the caller opened (and checked the content through), so a
 * later run replacing the cache entry cannot change what these rows read. Runs of consecutive rows are read in one call, so a sequential pass (evaluation,
 * the feature cache) streams and a shuffled batch costs one small read per sample.
 */

/** Bytes read per call at most: bounds the scratch buffer a long sequential run needs. */
const MAX_READ = 4 * 1024 * 1024;

export interface FileRowsSpec {
  /** For messages. */
  file: string;
  /** An open descriptor of the file. */
  fd: number;
  /** Where row 0 starts in the file. */
  offset: number;
  /** Rows in the block. */
  count: number;
  /** Bytes (= values) per row. */
  size: number;
}

class FileRows implements SampleRows {
  private scratch = Buffer.alloc(0);

  constructor(
    private readonly spec: FileRowsSpec,
    /** Row in the file of each sample, or undefined for all rows in order. */
    private readonly map: Int32Array | undefined,
    private readonly divisor: number,
  ) {}

  get count(): number {
    return this.map ? this.map.length : this.spec.count;
  }

  get size(): number {
    return this.spec.size;
  }

  private fileRow(i: number): number {
    if (!(Number.isInteger(i) && i >= 0 && i < this.count)) {
      throw new GraftError('BAD_ARGUMENT', `Sample index ${i} is outside 0..${this.count - 1} of ${this.spec.file}. Indices must refer to samples of the dataset.`, { userError: false });
    }
    return this.map ? this.map[i]! : i;
  }

  read(indices: ArrayLike<number>, start: number, end: number, out: Float32Array): Float32Array {
    const size = this.spec.size;
    if ((end - start) * size > out.length) {
      throw new GraftError('BAD_ARGUMENT', `Reading ${end - start} samples of ${size} values needs ${(end - start) * size} values; the buffer holds ${out.length}.`, { userError: false });
    }
    const maxRows = Math.max(1, Math.floor(MAX_READ / size));
    let k = start;
    while (k < end) {
      // The longest run of consecutive file rows starting at k.
      const first = this.fileRow(indices[k]!);
      let n = 1;
      while (k + n < end && n < maxRows && this.fileRow(indices[k + n]!) === first + n) n++;
      const bytes = n * size;
      if (this.scratch.length < bytes) this.scratch = Buffer.alloc(bytes);
      const got = readSync(this.spec.fd, this.scratch, 0, bytes, this.spec.offset + first * size);
      if (got !== bytes) throw new GraftError('DATA_CORRUPT', `${this.spec.file} ended early: rows ${first}..${first + n - 1} need ${bytes} bytes at ${this.spec.offset + first * size}, read ${got}. Delete the file; graft decodes the images again.`);
      const o = (k - start) * size;
      const d = this.divisor;
      // Division, as in-memory normalizePixels does it.
      if (d === 1) for (let j = 0; j < bytes; j++) out[o + j] = this.scratch[j]!;
      else for (let j = 0; j < bytes; j++) out[o + j] = this.scratch[j]! / d;
      k += n;
    }
    return out.subarray(0, (end - start) * size);
  }

  select(indices: ArrayLike<number>): SampleRows {
    const map = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) map[k] = this.fileRow(indices[k]!);
    return new FileRows(this.spec, map, this.divisor);
  }

  dividedBy(divisor: number): SampleRows {
    return new FileRows(this.spec, this.map, this.divisor * divisor);
  }
}

/** The rows of a byte block in `spec.file`, every row, in file order, values as stored (0..255). */
export function fileRows(spec: FileRowsSpec): SampleRows {
  return new FileRows(spec, undefined, 1);
}
