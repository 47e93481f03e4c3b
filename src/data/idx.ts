import { gunzipSync } from 'node:zlib';
import { GraftError } from '../errors.js';

/**
 * Reader for the IDX format (used by MNIST and Fashion-MNIST): magic 0x00 0x00 <type> <ndims>,
 * then `ndims` big-endian uint32 sizes, then the payload. Every header field is checked against
 * the bytes actually present before anything is allocated, so a corrupt or hostile header cannot
 * make graft reserve gigabytes.
 */

/** Largest decompressed payload graft accepts (Fashion-MNIST's biggest file is 47 MB). */
export const IDX_MAX_BYTES = 256 * 1024 * 1024;

const UNSIGNED_BYTE = 0x08;
const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};
const MAX_DIMS = 4;

/** The advice for a damaged dataset file graft downloaded; callers reading a user's file pass their own. */
export const IDX_REDOWNLOAD_FIX = 'The file is damaged or not an IDX file; delete it and download it again.';

function corrupt(what: string, problem: string, cause?: unknown, fix = IDX_REDOWNLOAD_FIX): GraftError {
  return new GraftError('DATA_CORRUPT', `${what}: ${problem}. ${fix}`, cause === undefined ? undefined : { cause });
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Returns `bytes` unchanged, or gunzipped when they start with the gzip magic (output bounded by `maxBytes`). */
export function maybeGunzip(bytes: Uint8Array, what: string, maxBytes = IDX_MAX_BYTES, fix = IDX_REDOWNLOAD_FIX): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    const out = gunzipSync(bytes, { maxOutputLength: maxBytes });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw corrupt(what, `gzip data decompresses to more than ${maxBytes} bytes (the limit), which no Fashion-MNIST file needs`, e, fix);
    }
    throw corrupt(what, `gzip data could not be decompressed (${(e as Error).message})`, e, fix);
  }
}

/**
 * Parses an IDX file of unsigned bytes (gzip accepted); `data` is a view into the input, not a copy.
 * `fix` ends every refusal (default: delete and download again, right for graft's own downloads).
 */
export function parseIdx(bytes: Uint8Array, what: string, fix = IDX_REDOWNLOAD_FIX): { dims: number[]; data: Uint8Array } {
  const raw = maybeGunzip(bytes, what, IDX_MAX_BYTES, fix);
  if (raw.length < 4) throw corrupt(what, `${raw.length} bytes is too short for the 4-byte IDX magic`, undefined, fix);
  const [z0, z1, type, ndims] = [raw[0]!, raw[1]!, raw[2]!, raw[3]!];
  if (z0 !== 0 || z1 !== 0) {
    throw corrupt(what, `magic starts with ${hex(z0)} ${hex(z1)} but an IDX file starts with 0x00 0x00`, undefined, fix);
  }
  if (type !== UNSIGNED_BYTE) {
    const name = TYPE_NAMES[type] ?? 'unknown';
    throw corrupt(what, `data type ${hex(type)} (${name}) is not supported; graft reads only 0x08 (unsigned byte)`, undefined, fix);
  }
  if (ndims === 0 || ndims > MAX_DIMS) throw corrupt(what, `header says ${ndims} dimensions; expected 1 to ${MAX_DIMS}`, undefined, fix);
  const headerBytes = 4 + 4 * ndims;
  if (raw.length < headerBytes) {
    throw corrupt(what, `header needs ${headerBytes} bytes for ${ndims} dimensions but the file has only ${raw.length}`, undefined, fix);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const zero = dims.indexOf(0);
  if (zero >= 0) throw corrupt(what, `dimension ${zero} is 0 in header dims [${dims.join(', ')}]`, undefined, fix);
  const present = raw.length - headerBytes;
  // A product past 2^53 is rounded, but it stays far above any real file size, so the comparison holds.
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected > present) {
    const need = expected > Number.MAX_SAFE_INTEGER ? 'more than 2^53' : String(expected);
    throw corrupt(what, `header dims [${dims.join(', ')}] need ${need} data bytes but only ${present} are present (truncated file)`, undefined, fix);
  }
  if (expected < present) {
    throw corrupt(what, `header dims [${dims.join(', ')}] need ${expected} data bytes but ${present} are present (${present - expected} trailing bytes)`, undefined, fix);
  }
  return { dims, data: raw.subarray(headerBytes) };
}
