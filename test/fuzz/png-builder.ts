import { concat } from '../io/zip-bomb.js';
import { deflateSync } from 'node:zlib';

/**
 * Builds PNGs chunk by chunk, for the variants pngjs cannot write (palette, Adam7 interlace, 16-bit,
 * grey+alpha), and repairs chunk CRCs after a mutation so the damage reaches past the CRC check.
 */

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array, from: number, to: number): number {
  let c = 0xffffffff;
  for (let i = from; i < to; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7 passes: x0, y0, dx, dy. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;

export interface PngSpec {
  width: number;
  height: number;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  colorType: 0 | 2 | 3 | 4 | 6;
  interlace?: boolean;
}

/** A valid PNG with pseudo-random pixels and filter type (row % 5), so every filter is exercised. */
export function buildPng(spec: PngSpec): Uint8Array {
  const { width, height, bitDepth, colorType } = spec;
  const bitsPerPixel = CHANNELS[colorType]! * bitDepth;
  const rows: Array<[number, number]> = spec.interlace
    ? ADAM7.flatMap(([x0, y0, dx, dy]) => {
        const w = Math.ceil((width - x0) / dx);
        const h = Math.ceil((height - y0) / dy);
        return w > 0 && h > 0 ? Array.from({ length: h }, () => [w, 0] as [number, number]) : [];
      })
    : Array.from({ length: height }, () => [width, 0] as [number, number]);
  const raw: number[] = [];
  rows.forEach(([w], r) => {
    raw.push(r % 5);
    const bytes = Math.ceil((w * bitsPerPixel) / 8);
    for (let b = 0; b < bytes; b++) raw.push((r * 31 + b * 17) & 0xff);
  });
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([bitDepth, colorType, 0, 0, spec.interlace ? 1 : 0], 8);
  const parts = [Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk('IHDR', ihdr)];
  if (colorType === 3) parts.push(chunk('PLTE', Uint8Array.from({ length: 3 * (1 << Math.min(bitDepth, 8)) }, (_, i) => (i * 37) & 0xff)));
  if (colorType === 3) parts.push(chunk('tRNS', Uint8Array.of(0, 128, 255)));
  const z = deflateSync(Uint8Array.from(raw));
  // Two IDAT chunks: a decoder must join them.
  const half = z.length >> 1;
  parts.push(chunk('IDAT', z.subarray(0, half)), chunk('IDAT', z.subarray(half)), chunk('IEND', new Uint8Array(0)));
  return concat(parts);
}

/** Byte ranges of every chunk's length, type and CRC fields, plus IHDR's body: where mutations matter. */
export function pngHotRanges(png: Uint8Array): Array<[number, number]> {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const hot: Array<[number, number]> = [[0, 33]];
  for (let at = 8; at + 12 <= png.length; ) {
    const len = view.getUint32(at);
    hot.push([at, at + 8], [at + 8 + len, at + 12 + len]);
    at += 12 + len;
  }
  return hot;
}

/** Recomputes the CRC of every chunk whose declared length fits in the file. */
export function fixCrcs(png: Uint8Array): Uint8Array {
  const out = png.slice();
  const view = new DataView(out.buffer);
  for (let at = 8; at + 12 <= out.length; ) {
    const len = view.getUint32(at);
    if (at + 12 + len > out.length) break;
    view.setUint32(at + 8 + len, crc32(out, at + 4, at + 8 + len));
    at += 12 + len;
  }
  return out;
}
