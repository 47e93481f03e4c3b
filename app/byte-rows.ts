import { GraftError, type Dataset } from '../src/browser.js';

/** graft's interface for samples read a batch at a time (src/data/rows.ts). */
export type SampleRows = NonNullable<Dataset['rows']>;

/** Chunk size of the store: big enough to be few, small enough that no allocation is a large share of a tab's memory. */
export const BYTE_ROW_CHUNK_BYTES = 32 * 2 ** 20;

/**
 * Decoded images as bytes, one RGB row per image at the input size, appended as they are decoded.
 * A row is a quarter of its float32 form (150 KB at 224×224 instead of 602 KB), and rows live in
 * fixed chunks, so 8,000 images are 1.2 GB in ~40 allocations instead of one 4.8 GB buffer that a
 * tab cannot hold. Training reads them through `rows()`, a batch at a time, as float32.
 */
export class ByteRowStore {
  private readonly chunks: Uint8Array[] = [];
  private n = 0;
  /** Rows per chunk. */
  readonly chunkRows: number;

  constructor(
    /** Values (bytes) per row, e.g. side × side × 3. */
    readonly size: number,
    chunkBytes = BYTE_ROW_CHUNK_BYTES,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new GraftError('BAD_ARGUMENT', `ByteRowStore: a row must hold a whole number ≥ 1 of bytes; received ${size}. Pass side × side × 3.`);
    this.chunkRows = Math.max(1, Math.floor(chunkBytes / size));
  }

  get count(): number {
    return this.n;
  }

  /** Bytes allocated (whole chunks). */
  get bytes(): number {
    return this.chunks.length * this.chunkRows * this.size;
  }

  /** Appends one image given as RGBA bytes (a canvas's ImageData), keeping RGB; returns its index. */
  pushRgba(rgba: ArrayLike<number>): number {
    if (rgba.length !== (this.size / 3) * 4) {
      throw new GraftError('SHAPE_MISMATCH', `ByteRowStore: an RGBA image for rows of ${this.size} RGB bytes must hold ${(this.size / 3) * 4} values; received ${rgba.length}. Decode at the store's input size.`);
    }
    const [chunk, at] = this.slot();
    for (let i = 0, j = at; i < rgba.length; i += 4, j += 3) {
      chunk[j] = rgba[i]!;
      chunk[j + 1] = rgba[i + 1]!;
      chunk[j + 2] = rgba[i + 2]!;
    }
    return this.n++;
  }

  /** Appends one row of `size` bytes; returns its index. */
  push(row: ArrayLike<number>): number {
    if (row.length !== this.size) throw new GraftError('SHAPE_MISMATCH', `ByteRowStore: a row must hold ${this.size} bytes; received ${row.length}.`);
    const [chunk, at] = this.slot();
    for (let j = 0; j < row.length; j++) chunk[at + j] = row[j]!;
    return this.n++;
  }

  /** Row `i` as a view (no copy). */
  row(i: number): Uint8Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.n) throw new GraftError('BAD_ARGUMENT', `ByteRowStore: row ${i} does not exist; the store holds rows 0..${this.n - 1}.`);
    const at = (i % this.chunkRows) * this.size;
    return this.chunks[Math.floor(i / this.chunkRows)]!.subarray(at, at + this.size);
  }

  /** Every row so far, as graft reads samples: float32 copies of the bytes (0..255 until divided). */
  rows(): SampleRows {
    return new ByteRows(this, undefined, 1);
  }

  /** The chunk and offset of the next row, allocating a chunk when the last one is full. */
  private slot(): [Uint8Array, number] {
    const k = Math.floor(this.n / this.chunkRows);
    if (k === this.chunks.length) this.chunks.push(new Uint8Array(this.chunkRows * this.size));
    return [this.chunks[k]!, (this.n % this.chunkRows) * this.size];
  }
}

/**
 * A view of a store: which rows (`ids`, or all in order) and what each byte is divided by as it is
 * read. `select` and `dividedBy` make new views; no pixels are copied until a batch is read.
 */
class ByteRows implements SampleRows {
  readonly count: number;
  readonly size: number;

  constructor(
    private readonly store: ByteRowStore,
    private readonly ids: Int32Array | undefined,
    private readonly divisor: number,
  ) {
    this.count = ids ? ids.length : store.count;
    this.size = store.size;
  }

  read(indices: ArrayLike<number>, start: number, end: number, out: Float32Array): Float32Array {
    const m = end - start;
    if (m * this.size > out.length) throw new GraftError('BAD_ARGUMENT', `Reading ${m} rows of ${this.size} values needs ${m * this.size} floats; the buffer holds ${out.length}. Pass a buffer of batch × row size.`);
    // Multiplying by the reciprocal would round differently from the division the page's own decoder does.
    const d = this.divisor;
    for (let k = 0; k < m; k++) {
      const row = this.store.row(this.source(indices[start + k]!));
      const at = k * this.size;
      if (d === 1) out.set(row, at);
      else for (let j = 0; j < row.length; j++) out[at + j] = row[j]! / d;
    }
    return out.subarray(0, m * this.size);
  }

  select(indices: ArrayLike<number>): SampleRows {
    return new ByteRows(this.store, Int32Array.from(indices, (i) => this.source(i)), this.divisor);
  }

  dividedBy(divisor: number): SampleRows {
    if (!(divisor > 0) || !Number.isFinite(divisor)) throw new GraftError('BAD_ARGUMENT', `Rows can be divided by a finite number > 0 only; received ${divisor}. Pass 255 for bytes.`);
    return new ByteRows(this.store, this.ids, this.divisor * divisor);
  }

  /** The store's row behind this view's row `i`. */
  private source(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new GraftError('BAD_ARGUMENT', `Row ${i} does not exist; these rows are 0..${this.count - 1}. Select indices within the dataset.`);
    return this.ids ? this.ids[i]! : i;
  }
}
