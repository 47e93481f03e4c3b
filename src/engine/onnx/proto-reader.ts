/**
 * Reads the protobuf wire format for ONNX files, bounded against hostile input: every length is
 * checked against the bytes left before anything is sliced or allocated, varints stop at 10
 * bytes, and nesting stops at `MAX_PROTO_DEPTH`. Nothing here knows ONNX's schema; the reader of
 * each message decides what its field numbers mean.
 */

/** Wire types protobuf still uses (3 and 4, groups, are long deprecated and refused). */
export const VARINT = 0;
export const FIXED64 = 1;
export const LENGTH_DELIMITED = 2;
export const FIXED32 = 5;

/** Deeper than any ONNX model nests (model → graph → node → attribute → tensor → entry is 6). */
export const MAX_PROTO_DEPTH = 32;

/** Malformed bytes. The model reader turns it into a GraftError that names the file. */
export class ProtoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoError';
  }
}

const TWO_64 = 1n << 64n;
const TWO_63 = 1n << 63n;
const utf8 = new TextDecoder('utf-8');

export class ProtoReader {
  private pos: number;
  private end: number;
  private readonly view: DataView;

  /** Reads `buf[start, end)`; `depth` is how deeply this message is nested. */
  constructor(
    private readonly buf: Uint8Array,
    readonly depth = 0,
    start = 0,
    end = buf.length,
    view?: DataView,
  ) {
    if (depth > MAX_PROTO_DEPTH) throw new ProtoError(`messages nested more than ${MAX_PROTO_DEPTH} deep`);
    this.pos = start;
    this.end = end;
    // Nested readers share their parent's view: a model has one message per node and attribute.
    this.view = view ?? new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Offset of the next byte to read, within the whole buffer (for messages). */
  get offset(): number {
    return this.pos;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** The next field's number and wire type. */
  tag(): { field: number; wire: number } {
    const at = this.pos;
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0 || field > 0x1fffffff) throw new ProtoError(`invalid field number ${field} at byte ${at}`);
    if (wire !== VARINT && wire !== FIXED64 && wire !== LENGTH_DELIMITED && wire !== FIXED32) {
      throw new ProtoError(`unsupported wire type ${wire} for field ${field} at byte ${at}`);
    }
    return { field, wire };
  }

  /** An unsigned varint as a number; refused past 2^53 (lengths, enums, tags never get there). */
  varint(): number {
    const v = this.varint64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtoError(`varint ${v} at byte ${this.pos} is too large`);
    return Number(v);
  }

  /** An unsigned varint as up to 64 bits. */
  varint64(): bigint {
    let lo = 0;
    let shift = 0;
    // The first four bytes fit a 28-bit number exactly; longer varints continue in bigint.
    for (let i = 0; i < 4; i++) {
      const b = this.byte();
      lo += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return BigInt(lo);
    }
    let v = BigInt(lo);
    for (let i = 4; i < 10; i++) {
      const b = this.byte();
      v |= BigInt(b & 0x7f) << BigInt(shift);
      shift += 7;
      if (b < 0x80) return v % TWO_64;
    }
    throw new ProtoError(`varint longer than 10 bytes at byte ${this.pos - 10}`);
  }

  /** A signed int64 (negative values are written as 10-byte two's complement). */
  int64(): bigint {
    const v = this.varint64();
    return v >= TWO_63 ? v - TWO_64 : v;
  }

  /** An int32 field (written sign-extended to 64 bits when negative). */
  int32(): number {
    // Most values fit 4 bytes (< 2^28): plain number arithmetic, no bigint.
    const start = this.pos;
    let v = 0;
    for (let i = 0, shift = 0; i < 4 && this.pos < this.end; i++, shift += 7) {
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    this.pos = start;
    return Number(BigInt.asIntN(32, this.varint64()));
  }

  float(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  fixed64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field's bytes, as a view into the input (no copy). */
  bytes(): Uint8Array {
    const length = this.length();
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  /** A nested message: a reader over its bytes, one level deeper. */
  message(): ProtoReader {
    const length = this.length();
    const inner = new ProtoReader(this.buf, this.depth + 1, this.pos, this.pos + length, this.view);
    this.pos += length;
    return inner;
  }

  /**
   * A repeated scalar field, packed (one length-delimited run) or not (one value per tag): `read`
   * is called once per element, reading from this reader. Returns how many it read.
   */
  repeated(wire: number, scalarWire: typeof VARINT | typeof FIXED32 | typeof FIXED64, read: () => void): number {
    if (wire === scalarWire) {
      read();
      return 1;
    }
    if (wire !== LENGTH_DELIMITED) throw new ProtoError(`wire type ${wire} where a repeated scalar was expected`);
    const length = this.length();
    const stop = this.pos + length;
    let n = 0;
    const outerEnd = this.end;
    // Elements are read by this same reader, so bound it to the packed run while they are.
    this.end = stop;
    try {
      while (this.pos < stop) {
        read();
        n++;
      }
    } finally {
      this.end = outerEnd;
    }
    return n;
  }

  /** How many elements a packed run of fixed-width values holds, checked before reading it. */
  packedCount(wire: number, width: 4 | 8): number | undefined {
    if (wire !== LENGTH_DELIMITED) return undefined;
    const save = this.pos;
    const length = this.length();
    this.pos = save;
    if (length % width !== 0) throw new ProtoError(`packed field of ${length} bytes is not a whole number of ${width}-byte values`);
    return length / width;
  }

  /** Skips a field this reader does not use. */
  skip(wire: number): void {
    if (wire === VARINT) this.varint64();
    else if (wire === FIXED64) this.advance(8);
    else if (wire === FIXED32) this.advance(4);
    else this.advance(this.length());
  }

  private length(): number {
    const at = this.pos;
    const n = this.varint();
    if (n > this.end - this.pos) throw new ProtoError(`field at byte ${at} claims ${n} bytes; only ${this.end - this.pos} are left`);
    return n;
  }

  private advance(n: number): void {
    this.need(n);
    this.pos += n;
  }

  private need(n: number): void {
    if (n > this.end - this.pos) throw new ProtoError(`needs ${n} bytes at byte ${this.pos}; only ${this.end - this.pos} are left (truncated?)`);
  }

  private byte(): number {
    if (this.pos >= this.end) throw new ProtoError(`ends inside a varint at byte ${this.pos} (truncated?)`);
    return this.buf[this.pos++]!;
  }
}
