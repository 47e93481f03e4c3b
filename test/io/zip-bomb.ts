import { strToU8 } from 'fflate';
import { constants, deflateRawSync } from 'node:zlib';

/**
 * Zip bombs built in the test rather than committed. Deflating 1.9 GB at level 9 takes ~20 s, so
 * one MiB of spaces is deflated once, ending in a sync flush (byte-aligned, no final bit, no
 * reference outside itself), and that piece is repeated; an empty final block closes the stream.
 * zlib inflating `deflatedSpaces(prefix, 8)` to exactly prefix + 8 MiB of spaces is checked in
 * hostile-models.test.ts, so the construction is a real deflate stream.
 */

const MiB = 1 << 20;
/** A fixed-Huffman block with the final bit and only its end code: how deflate streams end. */
const FINAL_EMPTY_BLOCK = new Uint8Array([0x03, 0x00]);

const syncDeflate = (data: Uint8Array): Uint8Array => deflateRawSync(data, { level: 9, finishFlush: constants.Z_SYNC_FLUSH });

/** Raw deflate (level 9) of `prefix` followed by `mib` MiB of spaces. */
export function deflatedSpaces(prefix: Uint8Array, mib: number): Uint8Array {
  const piece = syncDeflate(new Uint8Array(MiB).fill(0x20));
  return concat([syncDeflate(prefix), ...Array<Uint8Array>(mib).fill(piece), FINAL_EMPTY_BLOCK]);
}

/** A zip holding the given entries, deflated (`deflated` + `size`) or stored (`stored`). CRCs are 0: graft does not check them. */
export function buildZip(entries: { name: string; deflated?: Uint8Array; stored?: Uint8Array; size?: number }[]): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = strToU8(e.name);
    const data = e.deflated ?? e.stored!;
    const size = e.deflated ? e.size! : data.length;
    const method = e.deflated ? 8 : 0;
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, method, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, method, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local, data);
    centrals.push(central);
    offset += local.length + data.length;
  }
  const dir = concat(centrals);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, dir.length, true);
  ev.setUint32(16, offset, true);
  return concat([...locals, dir, end]);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
