import { applyExifOrientation, readExifOrientation } from './exif-orientation.js';
import { checkImageSize, corruptImage, type DecodedImage } from './image-checks.js';
import { webpToRgba } from './webp-wasm.js';

/**
 * WebP: the RIFF container is read here (chunks, canvas size, first animation frame, EXIF), the
 * pixels by libwebp (webp-wasm.ts). Sizes are checked before libwebp sees the file, so a header
 * claiming more pixels than graft's limit, or than its lossy data could code, costs nothing.
 * The first frame of an animation is placed on a transparent canvas at its offset, as libwebp's
 * animation decoder (and so Pillow) does; alpha is then dropped, as for PNG.
 */

/** 8 bits / 1.67 bits per macroblock (see bitstreamSize). */
const MACROBLOCKS_PER_BYTE = 4.8;
const PIXELS_PER_BYTE = MACROBLOCKS_PER_BYTE * 256;

interface Chunk {
  type: string;
  /** Offset of the chunk header (its four-letter type). */
  at: number;
  data: Uint8Array;
}

const fourcc = (b: Uint8Array, at: number): string => String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
const u24 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
const u32 = (b: Uint8Array, at: number): number => (u24(b, at) + b[at + 3]! * 0x1000000);

/** The chunks in bytes[from, to), each inside the file (odd sizes padded to even, as RIFF says). */
function chunks(bytes: Uint8Array, from: number, to: number, file: string): Chunk[] {
  const out: Chunk[] = [];
  for (let at = from; at + 8 <= to; ) {
    const type = fourcc(bytes, at);
    const size = u32(bytes, at + 4);
    if (at + 8 + size > to) {
      throw corruptImage(file, `WebP chunk ${JSON.stringify(type)} at byte ${at} declares ${size} bytes but only ${Math.max(0, to - at - 8)} follow (truncated file?)`);
    }
    out.push({ type, at, data: bytes.subarray(at + 8, at + 8 + size) });
    at += 8 + size + (size & 1);
    if (at < to && at + 8 > to) throw corruptImage(file, `WebP file ends inside a chunk header at byte ${at} (truncated file?)`);
  }
  return out;
}

/**
 * Width and height a VP8 (lossy) or VP8L (lossless) bitstream declares. For VP8 also checks that
 * the first partition, which codes every macroblock's prediction modes, exists and is long enough:
 * a key frame's modes cost at least 1.67 bits per 16×16 macroblock (the luma and chroma mode trees'
 * likeliest branches, probabilities 145/256 and 142/256, fixed by the VP8 spec), so n bytes hold at
 * most 4.8·n macroblocks.
 */
function bitstreamSize(chunk: Chunk, file: string): { width: number; height: number } {
  const d = chunk.data;
  if (chunk.type === 'VP8L') {
    if (d.length < 5 || d[0] !== 0x2f) throw corruptImage(file, 'WebP lossless data does not start with its signature byte 0x2f');
    const bits = u32(d, 1);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (d.length < 10 || d[3] !== 0x9d || d[4] !== 0x01 || d[5] !== 0x2a) throw corruptImage(file, 'WebP lossy data does not start with a VP8 key frame header');
  const width = (d[6]! | (d[7]! << 8)) & 0x3fff;
  const height = (d[8]! | (d[9]! << 8)) & 0x3fff;
  checkImageSize(file, width, height, 'the lossy WebP frame');
  const partition = u24(d, 0) >>> 5;
  const available = Math.min(partition, d.length - 10);
  const macroblocks = Math.ceil(width / 16) * Math.ceil(height / 16);
  if (macroblocks > MACROBLOCKS_PER_BYTE * available + 16) {
    throw corruptImage(file, `WebP header says ${width}×${height} pixels (${macroblocks} macroblocks) but its mode data is ${available} bytes, which can code at most ${Math.floor(MACROBLOCKS_PER_BYTE * available + 16)} (truncated file or damaged header)`);
  }
  return { width, height };
}

/** A RIFF/WEBP file holding just these chunks, with a VP8X header when alpha travels in ALPH. */
function stillFile(parts: Chunk[], width: number, height: number): Uint8Array {
  const header = new Uint8Array(10);
  header[0] = 0x10; // VP8X flag: has alpha
  header.set([(width - 1) & 255, ((width - 1) >> 8) & 255, (width - 1) >> 16, (height - 1) & 255, ((height - 1) >> 8) & 255, (height - 1) >> 16], 4);
  const all = parts.some((c) => c.type === 'ALPH') ? [{ type: 'VP8X', data: header }, ...parts] : parts;
  const size = all.reduce((sum, c) => sum + 8 + c.data.length + (c.data.length & 1), 12);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  const tag = (at: number, text: string): void => out.set(Array.from(text, (ch) => ch.charCodeAt(0)), at);
  tag(0, 'RIFF');
  view.setUint32(4, size - 8, true);
  tag(8, 'WEBP');
  let at = 12;
  for (const c of all) {
    tag(at, c.type);
    view.setUint32(at + 4, c.data.length, true);
    out.set(c.data, at + 8);
    at += 8 + c.data.length + (c.data.length & 1);
  }
  return out;
}

function decodeWithLibwebp(still: Uint8Array, file: string, expect: { width: number; height: number }): Uint8Array {
  let out: ReturnType<typeof webpToRgba>;
  try {
    out = webpToRgba(still);
  } catch (e) {
    throw corruptImage(file, `WebP data is damaged (libwebp: ${(e as Error).message})`, e);
  }
  if (!out) throw corruptImage(file, 'WebP image data is damaged or truncated (libwebp could not decode it)');
  if (out.width !== expect.width || out.height !== expect.height) {
    throw corruptImage(file, `WebP image data is ${out.width}×${out.height} pixels but its header says ${expect.width}×${expect.height}`);
  }
  return out.rgba;
}

export function decodeWebp(bytes: Uint8Array, file: string): DecodedImage {
  if (bytes.length < 20) throw corruptImage(file, `WebP file is only ${bytes.length} bytes long, too short for any image`);
  // The RIFF size may overstate a truncated file; chunks() then names the chunk that is cut.
  const end = Math.min(bytes.length, 8 + u32(bytes, 4));
  const all = chunks(bytes, 12, end, file);
  const first = all[0];
  if (!first) throw corruptImage(file, 'WebP file holds no chunks');
  let canvas: { width: number; height: number };
  let rgba: Uint8Array;
  let exif: Uint8Array | undefined;
  if (first.type === 'VP8 ' || first.type === 'VP8L') {
    canvas = bitstreamSize(first, file);
    checkImageSize(file, canvas.width, canvas.height);
    rgba = decodeWithLibwebp(bytes.subarray(0, end), file, canvas);
  } else if (first.type === 'VP8X') {
    if (first.data.length < 10) throw corruptImage(file, `WebP extended header is ${first.data.length} bytes, not 10`);
    canvas = { width: u24(first.data, 4) + 1, height: u24(first.data, 7) + 1 };
    checkImageSize(file, canvas.width, canvas.height);
    exif = all.find((c) => c.type === 'EXIF')?.data;
    const frame = all.find((c) => c.type === 'ANMF');
    if (frame) rgba = firstFrame(frame, canvas, file, bytes.length);
    else {
      const image = all.find((c) => c.type === 'VP8 ' || c.type === 'VP8L');
      if (!image) throw corruptImage(file, 'WebP file has an extended header but no image data (no VP8, VP8L or ANMF chunk)');
      const size = bitstreamSize(image, file);
      if (size.width !== canvas.width || size.height !== canvas.height) {
        throw corruptImage(file, `WebP image data is ${size.width}×${size.height} pixels but its canvas is ${canvas.width}×${canvas.height}`);
      }
      rgba = decodeWithLibwebp(bytes.subarray(0, end), file, canvas);
    }
  } else {
    throw corruptImage(file, `WebP file starts with a ${JSON.stringify(first.type)} chunk; it must start with VP8, VP8L or VP8X`);
  }
  const pixels = canvas.width * canvas.height;
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    rgb[3 * i] = rgba[4 * i]!;
    rgb[3 * i + 1] = rgba[4 * i + 1]!;
    rgb[3 * i + 2] = rgba[4 * i + 2]!;
  }
  const image: DecodedImage = { width: canvas.width, height: canvas.height, channels: 3, data: rgb };
  return exif ? applyExifOrientation(image, readExifOrientation(exif)) : image;
}

/** The first ANMF frame, decoded alone and placed at its offset on a transparent canvas. */
function firstFrame(frame: Chunk, canvas: { width: number; height: number }, file: string, fileBytes: number): Uint8Array {
  const d = frame.data;
  if (d.length < 16) throw corruptImage(file, `WebP animation frame header is ${d.length} bytes, not 16`);
  const x = 2 * u24(d, 0);
  const y = 2 * u24(d, 3);
  const size = { width: u24(d, 6) + 1, height: u24(d, 9) + 1 };
  if (x + size.width > canvas.width || y + size.height > canvas.height) {
    throw corruptImage(file, `WebP animation frame of ${size.width}×${size.height} at (${x}, ${y}) lies outside its ${canvas.width}×${canvas.height} canvas`);
  }
  // The canvas around a smaller first frame costs no data; hold it to the lossy bound over the
  // whole file, so a header alone cannot make graft fill 40 megapixels with transparency.
  const uncoded = canvas.width * canvas.height - size.width * size.height;
  if (uncoded > PIXELS_PER_BYTE * fileBytes) {
    throw corruptImage(file, `WebP animation canvas is ${canvas.width}×${canvas.height} pixels around a first frame of ${size.width}×${size.height}, more than a ${fileBytes}-byte file can describe (damaged header)`);
  }
  const parts = chunks(d, 16, d.length, file).filter((c) => c.type === 'ALPH' || c.type === 'VP8 ' || c.type === 'VP8L');
  const image = parts.find((c) => c.type !== 'ALPH');
  if (!image) throw corruptImage(file, 'WebP animation frame has no image data (no VP8 or VP8L chunk)');
  bitstreamSize(image, file);
  const pixels = decodeWithLibwebp(stillFile(image.type === 'VP8L' ? [image] : parts, size.width, size.height), file, size);
  const out = new Uint8Array(canvas.width * canvas.height * 4);
  for (let row = 0; row < size.height; row++) {
    out.set(pixels.subarray(row * size.width * 4, (row + 1) * size.width * 4), ((y + row) * canvas.width + x) * 4);
  }
  return out;
}
