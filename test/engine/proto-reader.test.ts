import { describe, expect, it } from 'vitest';
import { FIXED32, FIXED64, LENGTH_DELIMITED, MAX_PROTO_DEPTH, ProtoError, ProtoReader, VARINT } from '../../src/engine/onnx/proto-reader.js';
import { ProtoWriter } from '../../src/engine/onnx/protobuf.js';

/** The bounded protobuf reader, against graft's writer and against bytes that lie. */

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('ProtoReader', () => {
  it('reads what ProtoWriter writes: varints up to 64 bits, negative int64, floats, strings, nested messages', () => {
    const ints = [0n, 1n, 127n, 128n, 300n, 2n ** 31n, 2n ** 53n + 1n, 2n ** 63n - 1n, -1n, -300n, -(2n ** 63n)];
    const w = new ProtoWriter();
    for (const v of ints) w.int(1, v);
    w.float(2, 1.5).string(3, 'héllo').message(4, new ProtoWriter().int(1, 7).string(2, 'in'));
    const r = new ProtoReader(w.finish());
    const got: bigint[] = [];
    let f = 0;
    let s = '';
    let inner: unknown[] = [];
    while (!r.done()) {
      const t = r.tag();
      if (t.field === 1) got.push(r.int64());
      else if (t.field === 2) f = r.float();
      else if (t.field === 3) s = r.string();
      else {
        const m = r.message();
        expect(m.depth).toBe(1);
        m.tag();
        const a = m.varint();
        m.tag();
        inner = [a, m.string(), m.done()];
      }
    }
    expect(got).toEqual(ints);
    expect([f, s, inner]).toEqual([1.5, 'héllo', [7, 'in', true]]);
  });

  it('int32 fields: 1 to 5 bytes, and negatives written sign-extended to 10 bytes', () => {
    const values = [0, 1, 127, 300, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, -5, -(2 ** 31)];
    const w = new ProtoWriter();
    for (const v of values) w.int(1, v);
    const r = new ProtoReader(w.finish());
    const got: number[] = [];
    while (!r.done()) {
      r.tag();
      got.push(r.int32());
    }
    expect(got).toEqual(values);
  });

  it('fixed64 doubles and integers', () => {
    const b = new Uint8Array(18);
    b[0] = (1 << 3) | FIXED64;
    new DataView(b.buffer).setFloat64(1, -2.25, true);
    b[9] = (2 << 3) | FIXED64;
    new DataView(b.buffer).setBigUint64(10, 2n ** 64n - 2n, true);
    const r = new ProtoReader(b);
    expect(r.tag()).toEqual({ field: 1, wire: FIXED64 });
    expect(r.double()).toBe(-2.25);
    r.tag();
    expect(r.fixed64()).toBe(2n ** 64n - 2n);
  });

  it('repeated fields packed and unpacked give the same values', () => {
    // Packed: one length-delimited run of varints; unpacked: one tag per value.
    const run = bytes(0x03, 0xac, 0x02, 0x7f);
    const packed = bytes((1 << 3) | LENGTH_DELIMITED, run.length, ...run);
    const unpacked = bytes(0x08, 0x03, 0x08, 0xac, 0x02, 0x08, 0x7f);
    for (const b of [packed, unpacked]) {
      const r = new ProtoReader(b);
      const out: number[] = [];
      while (!r.done()) {
        const { wire } = r.tag();
        r.repeated(wire, VARINT, () => out.push(r.varint()));
      }
      expect(out).toEqual([3, 300, 127]);
    }
    const floats = new Uint8Array(10);
    floats.set([(2 << 3) | LENGTH_DELIMITED, 8]);
    new DataView(floats.buffer).setFloat32(2, 0.5, true);
    new DataView(floats.buffer).setFloat32(6, -4, true);
    const r = new ProtoReader(floats);
    const { wire } = r.tag();
    expect(r.packedCount(wire, 4)).toBe(2);
    const out: number[] = [];
    r.repeated(wire, FIXED32, () => out.push(r.float()));
    expect(out).toEqual([0.5, -4]);
    expect(r.done()).toBe(true);
  });

  it('a packed element cannot read past its run into the next field', () => {
    // A run of 2 bytes holding a 4-byte float, followed by more bytes of the message.
    const r = new ProtoReader(bytes((2 << 3) | LENGTH_DELIMITED, 2, 0, 0, 0x80, 0x3f, 0, 0));
    const { wire } = r.tag();
    expect(() => r.repeated(wire, FIXED32, () => r.float())).toThrow(/needs 4 bytes at byte 2; only 2 are left/);
  });

  it('refuses lengths past the bytes left, before slicing', () => {
    const r = new ProtoReader(bytes(0x0a, 0xff, 0xff, 0xff, 0xff, 0x07, 1, 2));
    r.tag();
    expect(() => r.bytes()).toThrow(ProtoError);
    const r2 = new ProtoReader(bytes(0x0a, 0x05, 1, 2));
    r2.tag();
    expect(() => r2.message()).toThrow('field at byte 1 claims 5 bytes; only 2 are left');
  });

  it('refuses truncated varints and fixed values, and varints over 10 bytes', () => {
    const cut = new ProtoReader(bytes(0x08, 0x80));
    cut.tag();
    expect(() => cut.varint()).toThrow(/ends inside a varint/);
    const long = new ProtoReader(bytes(0x08, ...new Array(11).fill(0x80), 0x01));
    long.tag();
    expect(() => long.int64()).toThrow(/longer than 10 bytes/);
    const f = new ProtoReader(bytes(0x15, 0, 0));
    f.tag();
    expect(() => f.float()).toThrow(/needs 4 bytes/);
    const huge = new ProtoReader(bytes(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f));
    huge.tag();
    expect(() => huge.varint()).toThrow(/too large/);
  });

  it('refuses field number 0 and the group wire types', () => {
    expect(() => new ProtoReader(bytes(0x00, 0x00)).tag()).toThrow(/invalid field number 0/);
    for (const wire of [3, 4, 6, 7]) expect(() => new ProtoReader(bytes((1 << 3) | wire)).tag()).toThrow(/unsupported wire type/);
  });

  it('skips every wire type, checking lengths', () => {
    const r = new ProtoReader(bytes(0x08, 0x96, 0x01, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 0x02, 9, 9, 0x25, 1, 2, 3, 4, 0x28, 0x01));
    const fields: number[] = [];
    while (!r.done()) {
      const { field, wire } = r.tag();
      fields.push(field);
      if (field === 5) expect(r.varint()).toBe(1);
      else r.skip(wire);
    }
    expect(fields).toEqual([1, 2, 3, 4, 5]);
    const short = new ProtoReader(bytes(0x11, 1, 2));
    expect(() => short.skip(short.tag().wire)).toThrow(/needs 8 bytes/);
  });

  it(`bounds nesting at ${MAX_PROTO_DEPTH} levels`, () => {
    let w = new ProtoWriter().int(1, 1);
    for (let i = 0; i < MAX_PROTO_DEPTH + 5; i++) w = new ProtoWriter().message(1, w);
    let r = new ProtoReader(w.finish());
    expect(() => {
      for (;;) {
        r.tag();
        r = r.message();
      }
    }).toThrow(`messages nested more than ${MAX_PROTO_DEPTH} deep`);
  });

  it('refuses a packed run that is not a whole number of fixed-width values', () => {
    const r = new ProtoReader(bytes(0x22, 0x03, 1, 2, 3));
    expect(() => r.packedCount(r.tag().wire, 4)).toThrow(/not a whole number of 4-byte values/);
  });
});
