import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { GraftError } from '../errors.js';
import type { RawImage } from '../data/image.js';

/**
 * Decodes PNG and JPEG bytes into RawImage, choosing the decoder by the file's magic bytes (never
 * its extension). Image dimensions are read from the header and checked against a limit before a
 * decoder allocates anything, so a hostile header cannot reserve gigabytes.
 */

export type ImageFormat = 'png' | 'jpeg';

/** Largest image graft decodes, in pixels (40 megapixels). */
export const MAX_IMAGE_PIXELS = 40_000_000;
/** Memory cap handed to the JPEG decoder (its own accounting, in MB). */
export const JPEG_MAX_MEMORY_MB = 512;

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** 'png', 'jpeg', or undefined when the bytes start like neither. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

function corrupt(file: string, problem: string, cause?: unknown): GraftError {
  return new GraftError(
    'DATA_CORRUPT',
    `${file}: ${problem}. Re-save the image as PNG or JPEG, or remove it from the folder.`,
    cause === undefined ? undefined : { cause },
  );
}

function checkSize(file: string, width: number, height: number): void {
  if (width < 1 || height < 1) throw corrupt(file, `header says the image is ${width}×${height} pixels`);
  if (width * height > MAX_IMAGE_PIXELS) {
    throw corrupt(file, `header says the image is ${width}×${height} pixels, more than graft's limit of ${MAX_IMAGE_PIXELS} pixels`);
  }
}

function decodePng(bytes: Uint8Array, file: string): RawImage {
  // IHDR must be the first chunk: length(4) "IHDR"(4) width(4) height(4) depth(1) colourType(1).
  if (bytes.length < 26 || String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!) !== 'IHDR') {
    throw corrupt(file, 'PNG signature is not followed by an IHDR header chunk');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16, false);
  const height = view.getUint32(20, false);
  const colourType = bytes[25]!;
  checkSize(file, width, height);
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw corrupt(file, `not a readable PNG (${(e as Error).message})`, e);
  }
  const rgba = png.data;
  const pixels = png.width * png.height;
  // pngjs always hands back 8-bit RGBA; keep one channel for grey images, three otherwise (alpha dropped).
  const grey = colourType === 0 || colourType === 4;
  const channels = grey ? 1 : 3;
  const data = new Uint8Array(pixels * channels);
  for (let i = 0; i < pixels; i++) {
    if (grey) data[i] = rgba[4 * i]!;
    else {
      data[3 * i] = rgba[4 * i]!;
      data[3 * i + 1] = rgba[4 * i + 1]!;
      data[3 * i + 2] = rgba[4 * i + 2]!;
    }
  }
  return { width: png.width, height: png.height, channels, data };
}

/** Width and height from a JPEG's first start-of-frame marker, or undefined when none is found. */
function jpegSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    const length = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) return { height: (bytes[i + 5]! << 8) | bytes[i + 6]!, width: (bytes[i + 7]! << 8) | bytes[i + 8]! };
    if (marker === 0xda || length < 2) return undefined;
    i += 2 + length;
  }
  return undefined;
}

function decodeJpeg(bytes: Uint8Array, file: string): RawImage {
  const size = jpegSize(bytes);
  if (!size) throw corrupt(file, 'JPEG has no readable frame header (SOF marker)');
  checkSize(file, size.width, size.height);
  try {
    const img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      maxResolutionInMP: MAX_IMAGE_PIXELS / 1_000_000,
      maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB,
    });
    if (img.data.length !== img.width * img.height * 3) throw new Error(`decoder returned ${img.data.length} bytes for ${img.width}×${img.height} RGB`);
    return { width: img.width, height: img.height, channels: 3, data: img.data };
  } catch (e) {
    throw corrupt(file, `not a readable JPEG (${(e as Error).message})`, e);
  }
}

/**
 * Decodes a PNG or JPEG. PNG greys come back with 1 channel, everything else with 3 (RGB; alpha
 * is dropped); values are 0..255 bytes. `file` names the image in errors (DATA_CORRUPT).
 */
export function decodeImage(bytes: Uint8Array, file: string): RawImage {
  const format = sniffImageFormat(bytes);
  if (format === 'png') return decodePng(bytes, file);
  if (format === 'jpeg') return decodeJpeg(bytes, file);
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw corrupt(file, `starts with bytes ${head || '(empty file)'}, which is neither PNG (89 50 4e 47) nor JPEG (ff d8 ff)`);
}
