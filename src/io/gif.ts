import { checkImageSize, corruptImage, type DecodedImage } from './image-checks.js';

/**
 * GIF, first frame only: the colour table, transparency and interlacing of the first image, and
 * the LZW decoder for its pixels. As Pillow does, the canvas outside the first frame takes the
 * transparent index when the frame has one, else index 0; a transparent pixel keeps its palette
 * colour (alpha is dropped, as for PNG). A file with no colour table reads as grey levels.
 */

const MAX_CODES = 4096;

interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
  interlaced: boolean;
  palette: Uint8Array;
  transparent: number | undefined;
  minCodeSize: number;
  /** The LZW data, sub-blocks joined. */
  data: Uint8Array;
}

/** Colour table at `at` of 2^(1+size) entries, as 256 RGB triples (missing entries black). */
function colourTable(bytes: Uint8Array, at: number, size: number, file: string): Uint8Array {
  const n = 2 << size;
  if (at + 3 * n > bytes.length) throw corruptImage(file, `GIF colour table of ${n} colours runs past the end of the file (truncated?)`);
  const table = new Uint8Array(256 * 3);
  table.set(bytes.subarray(at, at + 3 * n));
  return table;
}

/** Joins data sub-blocks starting at `at`; returns the data and where the terminator ends. */
function subBlocks(bytes: Uint8Array, at: number, file: string, join: boolean): { data: Uint8Array; end: number } {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    if (at >= bytes.length) throw corruptImage(file, 'GIF data ends inside a block (truncated file?)');
    const n = bytes[at]!;
    if (n === 0) break;
    if (at + 1 + n > bytes.length) throw corruptImage(file, 'GIF data ends inside a block (truncated file?)');
    if (join) parts.push(bytes.subarray(at + 1, at + 1 + n));
    total += n;
    at += 1 + n;
  }
  const data = new Uint8Array(join ? total : 0);
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  return { data, end: at + 1 };
}

function readFirstFrame(bytes: Uint8Array, file: string): { screen: [number, number]; frame: Frame } {
  const u16 = (at: number): number => bytes[at]! | (bytes[at + 1]! << 8);
  if (bytes.length < 13) throw corruptImage(file, `GIF file is only ${bytes.length} bytes long, too short for its header`);
  const screen: [number, number] = [u16(6), u16(8)];
  // A 0×0 screen is taken as the first frame's size, as Pillow and browsers do.
  if (screen[0] * screen[1] > 0) checkImageSize(file, screen[0], screen[1]);
  const flags = bytes[10]!;
  let at = 13;
  let palette: Uint8Array | undefined;
  if (flags & 0x80) {
    palette = colourTable(bytes, at, flags & 7, file);
    at += 3 * (2 << (flags & 7));
  }
  let transparent: number | undefined;
  for (;;) {
    const block = bytes[at];
    if (block === undefined) throw corruptImage(file, 'GIF file ends before its first image (truncated?)');
    if (block === 0x3b) throw corruptImage(file, 'GIF file holds no image (its trailer comes before any frame)');
    if (block === 0x21) {
      const label = bytes[at + 1];
      // Graphic control extension: [4, flags, delay(2), transparent index, 0].
      if (label === 0xf9 && bytes[at + 2] === 4 && at + 7 < bytes.length) transparent = bytes[at + 3]! & 1 ? bytes[at + 6]! : undefined;
      at = subBlocks(bytes, at + 2, file, false).end;
      continue;
    }
    if (block !== 0x2c) throw corruptImage(file, `GIF has byte 0x${block.toString(16)} at ${at} where a block should start`);
    if (at + 10 > bytes.length) throw corruptImage(file, 'GIF image header runs past the end of the file (truncated?)');
    const [left, top, width, height] = [u16(at + 1), u16(at + 3), u16(at + 5), u16(at + 7)];
    const imageFlags = bytes[at + 9]!;
    checkImageSize(file, width, height, 'the first frame');
    at += 10;
    if (imageFlags & 0x80) {
      palette = colourTable(bytes, at, imageFlags & 7, file);
      at += 3 * (2 << (imageFlags & 7));
    }
    const minCodeSize = bytes[at];
    if (minCodeSize === undefined) throw corruptImage(file, 'GIF file ends before its image data (truncated?)');
    if (minCodeSize < 1 || minCodeSize > 11) throw corruptImage(file, `GIF image data starts with LZW code size ${minCodeSize}; it must be 2 to 8`);
    const { data } = subBlocks(bytes, at + 1, file, true);
    // Each code takes at least minCodeSize + 1 bits and stands for at most MAX_CODES pixels. The
    // canvas around a smaller first frame is held to the same bound: it costs no data, so a header
    // alone could otherwise make graft fill 40 megapixels with one colour.
    const most = Math.floor((data.length * 8) / (minCodeSize + 1)) * MAX_CODES;
    const canvas = [Math.max(screen[0], left + width), Math.max(screen[1], top + height)] as const;
    for (const [what, w, h] of [['first frame', width, height], ['image (screen and first frame together)', canvas[0], canvas[1]]] as const) {
      if (w * h > most) throw corruptImage(file, `GIF ${what} is ${w}×${h} pixels but its ${data.length} bytes of LZW data can code at most ${most} (truncated file or damaged header)`);
    }
    const grey = Uint8Array.from({ length: 768 }, (_, i) => Math.floor(i / 3));
    return { screen, frame: { left, top, width, height, interlaced: (imageFlags & 0x40) !== 0, palette: palette ?? grey, transparent, minCodeSize, data } };
  }
}

/** LZW-decodes a frame's indices (row order as stored); throws on a code the table cannot hold. */
function lzw(frame: Frame, file: string): Uint8Array {
  const { data, minCodeSize } = frame;
  const out = new Uint8Array(frame.width * frame.height);
  const clear = 1 << minCodeSize;
  const prefix = new Int16Array(MAX_CODES);
  const suffix = new Uint8Array(MAX_CODES);
  const length = new Uint16Array(MAX_CODES);
  for (let c = 0; c < clear; c++) {
    suffix[c] = c;
    length[c] = 1;
  }
  let size = minCodeSize + 1;
  let next = clear + 2;
  let previous = -1;
  let written = 0;
  let bitBuffer = 0;
  let bitCount = 0;
  let at = 0;
  while (written < out.length) {
    while (bitCount < size && at < data.length) {
      bitBuffer |= data[at++]! << bitCount;
      bitCount += 8;
    }
    if (bitCount < size) break;
    const code = bitBuffer & ((1 << size) - 1);
    bitBuffer >>>= size;
    bitCount -= size;
    if (code === clear) {
      size = minCodeSize + 1;
      next = clear + 2;
      previous = -1;
      continue;
    }
    if (code === clear + 1) break;
    if (code > next || (code === next && previous < 0)) throw corruptImage(file, `GIF image data is damaged (LZW code ${code} where at most ${next} can follow)`);
    // The new entry is previous + first pixel of this code (of previous itself when code === next).
    if (previous >= 0 && next < MAX_CODES) {
      prefix[next] = previous;
      length[next] = length[previous]! + 1;
      let first = code === next ? previous : code;
      while (length[first]! > 1) first = prefix[first]!;
      suffix[next] = suffix[first]!;
      next++;
      if (next === 1 << size && size < 12) size++;
    }
    // Write the string for `code` backwards from its last pixel; cut at the frame's end.
    const n = length[code]!;
    for (let c = code, k = n - 1; k >= 0; k--, c = prefix[c]!) if (written + k < out.length) out[written + k] = suffix[c]!;
    written += n;
    previous = code;
  }
  if (written < out.length) throw corruptImage(file, `GIF image data ends after ${written} of the first frame's ${out.length} pixels (truncated file?)`);
  return out;
}

/** Stored row k of an interlaced frame is this row of the image (passes from rows 0, 4, 2, 1). */
function interlacedRows(height: number): number[] {
  const rows: number[] = [];
  for (const [start, step] of [[0, 8], [4, 8], [2, 4], [1, 2]] as const) for (let y = start; y < height; y += step) rows.push(y);
  return rows;
}

export function decodeGif(bytes: Uint8Array, file: string): DecodedImage {
  const { screen, frame } = readFirstFrame(bytes, file);
  const indices = lzw(frame, file);
  // A first frame reaching past the logical screen widens the canvas (Pillow and browsers do so).
  const width = Math.max(screen[0], frame.left + frame.width);
  const height = Math.max(screen[1], frame.top + frame.height);
  checkImageSize(file, width, height);
  const background = frame.transparent ?? 0;
  const out = new Uint8Array(width * height * 3);
  const p = frame.palette;
  // Background colour: one pixel, then doubled by copying (a per-pixel loop is slow at megapixels).
  out.set(p.subarray(3 * background, 3 * background + 3));
  for (let filled = 3; filled < out.length; filled *= 2) out.copyWithin(filled, 0, Math.min(filled, out.length - filled));
  const rows = frame.interlaced ? interlacedRows(frame.height) : undefined;
  for (let k = 0; k < frame.height; k++) {
    const y = frame.top + (rows ? rows[k]! : k);
    for (let x = 0; x < frame.width; x++) {
      const index = indices[k * frame.width + x]!;
      out.set(p.subarray(3 * index, 3 * index + 3), 3 * (y * width + frame.left + x));
    }
  }
  return { width, height, channels: 3, data: out };
}
