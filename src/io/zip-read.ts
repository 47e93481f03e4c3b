import { Inflate } from 'fflate';
import { GraftError } from '../errors.js';

/**
 * A zip reader for archives held in memory, written for untrusted files: every size is checked
 * before anything is allocated, zip64 fields are read wherever an entry uses them, and inflating
 * stops as soon as an entry's output passes the size its directory declared.
 */

/** One central-directory entry. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated; others are refused when extracted. */
  method: number;
  compressedSize: number;
  /** The uncompressed size the directory declares (a hostile file can lie; extractZipEntry checks). */
  size: number;
  localOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const ZIP64_EXTRA = 0x0001;
const U32_MAX = 0xffffffff;
/** Deflated input fed per step: deflate's 1032:1 limit bounds one step's output to ~16 MiB. */
const INFLATE_STEP = 16 * 1024;

function damaged(what: string, why: string): GraftError {
  return new GraftError('MODEL_CORRUPT', `${what}: the zip archive is damaged (${why}). Save or download it again.`);
}

/** A little-endian u64 as a number; above 2^53 it is no size any file here can have. */
function u64(v: DataView, at: number): number {
  return v.getUint32(at, true) + v.getUint32(at + 4, true) * 2 ** 32;
}

/** Where the central directory is and how many entries it holds, from the (zip64) end record. */
function findDirectory(bytes: Uint8Array, v: DataView, what: string): { count: number; offset: number; size: number } {
  let e = bytes.length - 22;
  const stop = Math.max(0, bytes.length - 22 - 0xffff); // the end record's comment is at most 64 KiB
  while (e >= stop && v.getUint32(e, true) !== EOCD) e--;
  if (e < stop) throw damaged(what, 'no end-of-directory record');
  let count = v.getUint16(e + 10, true);
  let size = v.getUint32(e + 12, true);
  let offset = v.getUint32(e + 16, true);
  if (e >= 20 && v.getUint32(e - 20, true) === ZIP64_LOCATOR) {
    const z = u64(v, e - 12);
    if (z + 56 > bytes.length || v.getUint32(z, true) !== ZIP64_EOCD) throw damaged(what, 'its zip64 end record is missing');
    count = u64(v, z + 32);
    size = u64(v, z + 40);
    offset = u64(v, z + 48);
  }
  if (offset + size > bytes.length) throw damaged(what, `the directory claims bytes ${offset}..${offset + size} of a ${bytes.length}-byte file`);
  return { count, offset, size };
}

/** The zip64 extra field's values for the fields that hold 0xFFFFFFFF, in the spec's order. */
function applyZip64(v: DataView, at: number, end: number, entry: ZipEntry, what: string): void {
  for (let p = at; p + 4 <= end; p += 4 + v.getUint16(p + 2, true)) {
    if (v.getUint16(p, true) !== ZIP64_EXTRA) continue;
    let q = p + 4;
    const fieldEnd = Math.min(end, q + v.getUint16(p + 2, true));
    const next = (): number => {
      if (q + 8 > fieldEnd) throw damaged(what, `entry ${JSON.stringify(entry.name)}'s zip64 field is too short`);
      const n = u64(v, q);
      q += 8;
      return n;
    };
    if (entry.size === U32_MAX) entry.size = next();
    if (entry.compressedSize === U32_MAX) entry.compressedSize = next();
    if (entry.localOffset === U32_MAX) entry.localOffset = next();
    return;
  }
}

/**
 * The central directory's entries. More than `maxEntries` is refused before walking them (zip64
 * allows 2^64); each entry must lie inside the file.
 */
export function listZipEntries(bytes: Uint8Array, what: string, maxEntries: number): ZipEntry[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dir = findDirectory(bytes, v, what);
  if (dir.count > maxEntries) throw new GraftError('MODEL_CORRUPT', `${what}: the zip directory lists ${dir.count} entries, more than ${maxEntries} entries (no file graft reads needs that many); refusing it.`);
  const entries: ZipEntry[] = [];
  let p = dir.offset;
  for (let i = 0; i < dir.count; i++) {
    if (p + 46 > bytes.length || v.getUint32(p, true) !== CENTRAL) throw damaged(what, `directory entry ${i} is not where the directory says`);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    const nameEnd = p + 46 + nameLen;
    if (nameEnd + extraLen > bytes.length) throw damaged(what, `directory entry ${i} runs past the end of the file`);
    const utf8 = (v.getUint16(p + 8, true) & 0x800) !== 0;
    const entry: ZipEntry = {
      name: new TextDecoder(utf8 ? 'utf-8' : 'latin1').decode(bytes.subarray(p + 46, nameEnd)),
      method: v.getUint16(p + 10, true),
      compressedSize: v.getUint32(p + 20, true),
      size: v.getUint32(p + 24, true),
      localOffset: v.getUint32(p + 42, true),
    };
    applyZip64(v, nameEnd, nameEnd + extraLen, entry, what);
    entries.push(entry);
    p = nameEnd + extraLen + commentLen;
  }
  return entries;
}

/**
 * The entry's bytes. Its declared size must be within `maxBytes` (checked before any allocation);
 * its data must lie inside the file; inflating stops the moment output passes the declared size,
 * and output short of it is refused too.
 */
export function extractZipEntry(bytes: Uint8Array, entry: ZipEntry, what: string, maxBytes: number): Uint8Array {
  const name = JSON.stringify(entry.name);
  if (entry.size > maxBytes) {
    throw new GraftError('MODEL_CORRUPT', `${what}: zip entry ${name} declares ${entry.size} bytes uncompressed, more than the ${maxBytes} bytes graft allows for it; refusing it (a zip bomb, or not a model graft can load).`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = entry.localOffset;
  if (h + 30 > bytes.length || v.getUint32(h, true) !== LOCAL) throw damaged(what, `entry ${name}'s local header is not where the directory says`);
  const start = h + 30 + v.getUint16(h + 26, true) + v.getUint16(h + 28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.length) throw damaged(what, `entry ${name} claims ${entry.compressedSize} stored bytes, past the end of the ${bytes.length}-byte file`);
  const data = bytes.subarray(start, end);
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) throw damaged(what, `stored entry ${name} declares ${entry.size} bytes but holds ${entry.compressedSize}`);
    return data.slice();
  }
  if (entry.method !== 8) throw new GraftError('MODEL_CORRUPT', `${what}: zip entry ${name} uses compression method ${entry.method}; graft reads stored and deflated entries, as Keras writes them. Save the model with Keras again.`);
  const out = new Uint8Array(entry.size);
  let got = 0;
  let ended = false;
  const tooLong = new GraftError('MODEL_CORRUPT', `${what}: zip entry ${name} inflates to more than the ${entry.size} bytes its directory declares; refusing it (the directory lies, as in a zip bomb). Save or download it again.`);
  const inflate = new Inflate((chunk, final) => {
    if (got + chunk.length > entry.size) throw tooLong;
    out.set(chunk, got);
    got += chunk.length;
    ended = final;
  });
  try {
    for (let i = 0; i < data.length; i += INFLATE_STEP) inflate.push(data.subarray(i, i + INFLATE_STEP), i + INFLATE_STEP >= data.length);
    if (data.length === 0) inflate.push(data, true);
  } catch (e) {
    if (e === tooLong) throw e;
    throw damaged(what, `entry ${name} does not inflate: ${(e as Error).message}`);
  }
  if (!ended || got !== entry.size) throw damaged(what, `entry ${name} inflates to ${got} bytes, its directory declares ${entry.size}`);
  return out;
}
