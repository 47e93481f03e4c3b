import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { GraftError } from '../errors.js';
import { leftoversIn, makeDirs, removeStale, writeError, writeFileAtomic } from './atomic.js';
import { DECODER_REVISION } from './image-decode.js';
import { readRegularFile } from './regular-file.js';
import type { Environment } from './environment.js';

/**
 * A cache of decoded image sets, so JPEG/PNG decoding happens once. Each entry is one file
 * `<key>.bin` whose key is a SHA-256 over the inputs (file list with sizes and mtimes) and the
 * decode options. Layout (little-endian):
 *
 *   "GRAFTDC1"  u32 headerLength  header JSON  pixels (u8)  labels (i32)  SHA-256 of all before it
 *
 * A file whose header, length or checksum does not match is deleted and rebuilt, never trusted.
 */

/** Decoded images as stored: 0..255 bytes, one label each, shape of one sample [h, w, c]. */
export interface DecodedImages {
  readonly pixels: Uint8Array;
  readonly labels: Int32Array;
  readonly classNames: readonly string[];
  readonly sampleShape: readonly [number, number, number];
  /** Inputs that could not be decoded (index into the input list), so a cache hit reports them again. */
  readonly skipped?: readonly SkippedInput[];
}

export interface SkippedInput {
  readonly index: number;
  readonly file: string;
  readonly reason: string;
}

/** One input file of a cache key. */
export interface CacheInput {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

export const MAGIC = 'GRAFTDC1';
const VERSION = 1;
export const HASH_BYTES = 32;
export const MAX_HEADER_BYTES = 1 << 20;

/** $XDG_CACHE_HOME/graft/decoded, else ~/.cache/graft/decoded. */
export function decodeCacheDir(env: Environment = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || homedir(), '.cache');
  return path.join(base, 'graft', 'decoded');
}

/** Hex SHA-256 over the sorted inputs (path, size, mtime) and the JSON of `options`. */
export function decodeCacheKey(inputs: readonly CacheInput[], options: unknown): string {
  const hash = createHash('sha256');
  // The decoder's revision is part of the key: entries decoded the old way are never reused.
  hash.update(`graft-decode-cache v${VERSION} ${DECODER_REVISION}\n${JSON.stringify(options)}\n`);
  const sorted = [...inputs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of sorted) hash.update(`${JSON.stringify(f.path)}\t${f.size}\t${f.mtimeMs}\n`);
  return hash.digest('hex');
}

/** The header JSON of a cache file holding `count` images described by `d`. */
export function encodeCacheHeader(count: number, d: Pick<DecodedImages, 'sampleShape' | 'classNames' | 'skipped'>): Uint8Array {
  const [h, w, c] = d.sampleShape;
  return new TextEncoder().encode(JSON.stringify({ version: VERSION, count, sampleShape: [h, w, c], classNames: d.classNames, ...(d.skipped && { skipped: d.skipped }) }));
}

export function encodeDecodedImages(d: DecodedImages): Uint8Array {
  const [h, w, c] = d.sampleShape;
  const count = d.labels.length;
  if (d.pixels.length !== count * h * w * c) {
    throw new GraftError('SHAPE_MISMATCH', `Decode cache: ${d.pixels.length} pixel bytes do not match ${count} images of [${h}, ${w}, ${c}]. This is a bug in graft.`, { userError: false });
  }
  const header = encodeCacheHeader(count, d);
  const total = 8 + 4 + header.length + d.pixels.length + 4 * count + HASH_BYTES;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, header.length, true);
  out.set(header, 12);
  let o = 12 + header.length;
  out.set(d.pixels, o);
  o += d.pixels.length;
  for (let i = 0; i < count; i++) view.setInt32(o + 4 * i, d.labels[i]!, true);
  o += 4 * count;
  out.set(createHash('sha256').update(out.subarray(0, o)).digest(), o);
  return out;
}

export function corrupt(file: string, problem: string): GraftError {
  return new GraftError('DATA_CORRUPT', `Decode cache file ${file}: ${problem}. Delete it; graft rebuilds it from the images.`);
}

function isWholeNumber(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min;
}

/** Parses and validates a cache file (header, lengths, checksum, labels); DATA_CORRUPT otherwise. */
export function parseDecodedImages(bytes: Uint8Array, file: string): DecodedImages {
  if (bytes.length < 12 + HASH_BYTES || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw corrupt(file, `it does not start with ${MAGIC}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  const { count, sampleShape, classNames, skipped, pixelBytes, expected } = parseCacheHeader(headerLength, bytes.subarray(12, 12 + headerLength), bytes.length, file);
  const [h, w, c] = sampleShape;
  if (bytes.length !== expected) throw corrupt(file, `header describes ${expected} bytes but the file has ${bytes.length}`);
  const body = bytes.length - HASH_BYTES;
  const digest = createHash('sha256').update(bytes.subarray(0, body)).digest();
  if (!digest.equals(bytes.subarray(body))) throw corrupt(file, 'its checksum does not match its content');
  const start = 12 + headerLength;
  const pixels = new Uint8Array(pixelBytes); // a plain copy, not a Buffer view of the file
  pixels.set(bytes.subarray(start, start + pixelBytes));
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = view.getInt32(start + pixelBytes + 4 * i, true);
    if (label < 0 || label >= classNames.length) throw corrupt(file, `label ${label} of image ${i} is outside 0..${classNames.length - 1}`);
    labels[i] = label;
  }
  return { pixels, labels, classNames, sampleShape: [h, w, c], ...(skipped !== undefined && { skipped }) };
}

export interface CacheHeader {
  count: number;
  sampleShape: [number, number, number];
  classNames: string[];
  skipped?: SkippedInput[];
  /** Bytes of the pixel block, and of the whole file the header describes. */
  pixelBytes: number;
  expected: number;
}

/** Validates a cache file's header (its JSON bytes and declared length) against the file's size. */
export function parseCacheHeader(headerLength: number, json: Uint8Array, fileBytes: number, file: string): CacheHeader {
  if (headerLength > MAX_HEADER_BYTES || 12 + headerLength + HASH_BYTES > fileBytes || json.length !== headerLength) throw corrupt(file, `header length ${headerLength} does not fit in ${fileBytes} bytes`);
  let header: { version?: unknown; count?: unknown; sampleShape?: unknown; classNames?: unknown; skipped?: unknown };
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json)) as typeof header;
  } catch {
    throw corrupt(file, 'its header is not valid JSON');
  }
  const { version, count, sampleShape, classNames, skipped } = header ?? {};
  if (version !== VERSION) throw corrupt(file, `format version ${String(version)} is not ${VERSION}`);
  if (!isWholeNumber(count, 0)) throw corrupt(file, `image count ${String(count)} is not a whole number`);
  if (!Array.isArray(sampleShape) || sampleShape.length !== 3 || !sampleShape.every((v) => isWholeNumber(v, 1))) throw corrupt(file, 'sample shape is not [h, w, c]');
  if (!Array.isArray(classNames) || classNames.length === 0 || !classNames.every((n) => typeof n === 'string')) throw corrupt(file, 'class names are missing');
  const isSkip = (v: unknown): boolean => typeof v === 'object' && v !== null && isWholeNumber((v as SkippedInput).index, 0) && typeof (v as SkippedInput).file === 'string' && typeof (v as SkippedInput).reason === 'string';
  if (skipped !== undefined && !(Array.isArray(skipped) && skipped.every(isSkip))) throw corrupt(file, 'its list of skipped images is malformed');
  const [h, w, c] = sampleShape as [number, number, number];
  const pixelBytes = count * h * w * c;
  return { count, sampleShape: [h, w, c], classNames: classNames as string[], ...(skipped !== undefined && { skipped: skipped as SkippedInput[] }), pixelBytes, expected: 12 + headerLength + pixelBytes + 4 * count + HASH_BYTES };
}

/**
 * Reads `<dir>/<key>.bin`. Returns undefined when absent; a corrupt file is deleted (and
 * undefined returned) so the caller decodes again.
 */
export async function readDecodeCache(dir: string, key: string): Promise<DecodedImages | undefined> {
  const file = path.join(dir, `${key}.bin`);
  let bytes: Uint8Array;
  try {
    // No size limit: graft wrote it; one too large to read (a RangeError) is a miss, decoded again.
    bytes = await readRegularFile(file, { maxBytes: Number.MAX_SAFE_INTEGER, expected: 'a decode cache file', code: 'DATA_CORRUPT', fix: 'graft keeps its decoded images in that folder and did not put this there; remove it, or load with the cache off.' });
  } catch (e) {
    // Not graft's: refuse rather than delete it or rename a new cache file over it.
    if (e instanceof GraftError) throw e;
    return undefined;
  }
  try {
    return parseDecodedImages(bytes, file);
  } catch (e) {
    if (!(e instanceof GraftError)) throw e;
    await rm(file, { force: true }).catch(() => undefined);
    return undefined;
  }
}

/**
 * Writes `<dir>/<key>.bin` atomically (creating `dir`); returns the file's path. Temp files that
 * killed writers left in `dir`, for any key, are deleted on the way: readers never look at them.
 */
export async function writeDecodeCache(dir: string, key: string, d: DecodedImages): Promise<string> {
  const file = path.join(dir, `${key}.bin`);
  try {
    await makeDirs(dir);
  } catch (e) {
    throw writeError(e, file, true);
  }
  await writeFileAtomic(file, encodeDecodedImages(d));
  await removeStale(await leftoversIn(dir));
  return file;
}
