import { inflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { GraftError } from '../errors.js';
import type { RawImage } from '../data/image.js';
import { decodeBmp } from './bmp.js';
import { applyExifOrientation, readExifOrientation } from './exif-orientation.js';
import { describeFileKind } from './file-kind.js';
import { decodeGif } from './gif.js';
import { checkImageSize as checkSize, corruptImage as corrupt, type DecodedImage, MAX_IMAGE_PIXELS } from './image-checks.js';
import { jpegToRgb, planJpegColour, type JpegMarkers } from './jpeg-colour.js';
import { decodeWebp } from './webp.js';

/**
 * Decodes PNG, JPEG, WebP, BMP and GIF bytes into RawImage, choosing the decoder by the file's
 * magic bytes (never its extension). Image dimensions are read from the header and checked against
 * a limit before a decoder allocates anything, so a hostile header cannot reserve gigabytes. EXIF
 * orientation (JPEG, PNG, WebP) is applied here, so every consumer gets upright pixels.
 */

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'bmp' | 'gif';

/** Changes whenever decoded pixels change, so caches of decoded images are rebuilt (decode-cache.ts). */
export const DECODER_REVISION = 'exif-orientation';

export { MAX_IMAGE_PIXELS } from './image-checks.js';
/** Memory cap handed to the JPEG decoder (its own accounting, in MB). */
export const JPEG_MAX_MEMORY_MB = 512;

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The format the bytes start like, or undefined when they start like no format graft decodes. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  // The same signatures describeFileKind knows, so the two never disagree about what is an image.
  const kind = describeFileKind(bytes.subarray(0, 32));
  if (kind === 'a WebP image') return 'webp';
  if (kind === 'a BMP image') return 'bmp';
  if (kind === 'a GIF image') return 'gif';
  return undefined;
}

/** Deflate's best ratio is 1032:1 (a 258-byte match coded in two bits); no zlib stream inflates further. */
const DEFLATE_MAX_RATIO = 1032;
/** Channels per PNG colour type, and the bit depths the PNG spec allows with it. */
const PNG_COLOUR_TYPES: Record<number, { channels: number; depths: readonly number[] }> = {
  0: { channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { channels: 3, depths: [8, 16] },
  3: { channels: 1, depths: [1, 2, 4, 8] },
  4: { channels: 2, depths: [8, 16] },
  6: { channels: 4, depths: [8, 16] },
};
/** Adam7 passes as [x0, y0, dx, dy]. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;

export interface PngHeader {
  width: number;
  height: number;
  colourType: number;
  /** The eXIf chunk's contents, when there is one. */
  exif?: Uint8Array;
}

/**
 * Checks a PNG before pngjs sees it: IHDR first and valid, every chunk inside the file, image data
 * present, no more pixel data than the compressed bytes can inflate to, and the image data
 * inflating without error to exactly the size IHDR implies. pngjs sizes its buffers from IHDR alone
 * (a 100-byte file claiming 6000×6000 made it reserve hundreds of megabytes and spin for seconds),
 * and it ignores zlib errors, filtering whatever its uninitialised buffer held instead: the same
 * damaged file was accepted or refused at random, its pixels taken from unrelated memory.
 */
export function checkPng(bytes: Uint8Array, file: string): PngHeader {
  // IHDR must be the first chunk: length(4) "IHDR"(4) width(4) height(4) depth(1) colourType(1) ... interlace(1).
  if (bytes.length < 33 || String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!) !== 'IHDR') {
    throw corrupt(file, `PNG signature is not followed by an IHDR header chunk (${bytes.length} bytes in all)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16, false);
  const height = view.getUint32(20, false);
  const [depth, colourType, , , interlace] = [bytes[24]!, bytes[25]!, bytes[26]!, bytes[27]!, bytes[28]!];
  checkSize(file, width, height);
  const colour = PNG_COLOUR_TYPES[colourType];
  if (!colour || !colour.depths.includes(depth)) throw corrupt(file, `PNG header has colour type ${colourType} with bit depth ${depth}, which is not a valid combination`);
  if (interlace > 1) throw corrupt(file, `PNG header has interlace method ${interlace}; only 0 and 1 exist`);
  let compressed = 0;
  const idat: Uint8Array[] = [];
  let exif: Uint8Array | undefined;
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = view.getUint32(at, false);
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    if (at + 12 + length > bytes.length) {
      throw corrupt(file, `PNG chunk ${JSON.stringify(type)} at byte ${at} declares ${length} bytes but only ${Math.max(0, bytes.length - at - 12)} follow (truncated file?)`);
    }
    if (type === 'IDAT') {
      compressed += length;
      idat.push(bytes.subarray(at + 8, at + 8 + length));
    }
    if (type === 'eXIf' && !exif) exif = bytes.subarray(at + 8, at + 8 + length);
    if (type === 'IEND') break;
    at += 12 + length;
  }
  if (compressed === 0) throw corrupt(file, 'PNG has no image data (no IDAT chunk, or an empty one)');
  const rowBytes = (w: number): number => 1 + Math.ceil((w * colour.channels * depth) / 8);
  const raw =
    interlace === 1
      ? ADAM7.reduce((sum, [x0, y0, dx, dy]) => {
          const w = Math.ceil((width - x0) / dx);
          const h = Math.ceil((height - y0) / dy);
          return w > 0 && h > 0 ? sum + h * rowBytes(w) : sum;
        }, 0)
      : height * rowBytes(width);
  if (raw > DEFLATE_MAX_RATIO * compressed) {
    throw corrupt(
      file,
      `PNG header says ${width}×${height} pixels, ${raw} bytes of pixel data, but the file holds only ${compressed} bytes of compressed data, which cannot inflate to more than ${DEFLATE_MAX_RATIO * compressed} (truncated file or damaged header)`,
    );
  }
  let inflated: number;
  try {
    inflated = inflateSync(Buffer.concat(idat), { maxOutputLength: raw }).length;
  } catch (e) {
    const tooLarge = (e as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE';
    throw corrupt(file, tooLarge ? `PNG image data inflates to more than the ${raw} bytes its header implies` : `PNG image data is damaged (zlib: ${(e as Error).message})`, e);
  }
  if (inflated !== raw) throw corrupt(file, `PNG image data inflates to ${inflated} bytes but its header implies ${raw} (truncated or damaged data)`);
  return { width, height, colourType, ...(exif && { exif }) };
}

function decodePng(bytes: Uint8Array, file: string): DecodedImage {
  const { colourType, exif } = checkPng(bytes, file);
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
  const image = { width: png.width, height: png.height, channels, data };
  return exif ? applyExifOrientation(image, readExifOrientation(exif)) : image;
}

interface JpegFrame extends JpegMarkers {
  width: number;
  height: number;
  /** Bytes from the first start-of-scan marker to the end of the file: where all coded pixels live. */
  scanBytes: number;
  /** Where the Adobe APP14 transform byte sits, when there is one. */
  adobeTransformAt?: number;
  /** The first APP1 "Exif" segment's TIFF data, when there is one. */
  exif?: Uint8Array;
}

/** The first start-of-frame header and where the first scan starts, or a reason why they cannot be read. */
function readJpegFrame(bytes: Uint8Array): JpegFrame | string {
  let frame: Pick<JpegFrame, 'width' | 'height' | 'sampling' | 'ids'> | undefined;
  const app: Pick<JpegFrame, 'jfif' | 'adobeTransform' | 'adobeTransformAt' | 'exif'> = { jfif: false };
  const tagged = (at: number, tag: string): boolean => [...tag].every((ch, k) => bytes[at + k] === ch.charCodeAt(0));
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return `byte ${i} should start a marker (0xff) but is 0x${bytes[i]!.toString(16)}`;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      i += 2; // markers without a length
      continue;
    }
    const length = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (length < 2 || i + 2 + length > bytes.length) return `marker 0x${marker.toString(16)} at byte ${i} declares ${length} bytes, ${length < 2 ? 'fewer than its own length field' : 'past the end of the file (truncated?)'}`;
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame && !frame) {
      const count = bytes[i + 9] ?? 0;
      if (length < 8 + 3 * count || count === 0) return `frame header at byte ${i} is ${length} bytes long for ${count} components`;
      const sampling: Array<[number, number]> = [];
      const ids: number[] = [];
      for (let c = 0; c < count; c++) {
        const hv = bytes[i + 11 + 3 * c]!;
        sampling.push([hv >> 4, hv & 15]);
        ids.push(bytes[i + 10 + 3 * c]!);
      }
      if (sampling.some(([h, v]) => h < 1 || h > 4 || v < 1 || v > 4)) return `frame header has sampling factors ${sampling.map(([h, v]) => `${h}×${v}`).join(', ')}; each must be 1 to 4`;
      frame = { height: (bytes[i + 5]! << 8) | bytes[i + 6]!, width: (bytes[i + 7]! << 8) | bytes[i + 8]!, sampling, ids };
    }
    if (marker === 0xe0 && length >= 7 && tagged(i + 4, 'JFIF\0')) app.jfif = true;
    if (marker === 0xe1 && !app.exif && length >= 8 && tagged(i + 4, 'Exif\0')) app.exif = bytes.subarray(i + 10, i + 2 + length);
    // APP14 "Adobe": version(2) flags0(2) flags1(2) transform(1).
    if (marker === 0xee && length >= 14 && tagged(i + 4, 'Adobe')) {
      app.adobeTransformAt = i + 4 + 11;
      app.adobeTransform = bytes[app.adobeTransformAt]!;
    }
    if (marker === 0xda) return frame ? { ...frame, ...app, scanBytes: bytes.length - i } : 'a scan starts before any frame header (SOF marker)';
    i += 2 + length;
  }
  return frame ? 'there is no scan (SOS marker), so no image data' : 'there is no frame header (SOF marker)';
}

/**
 * Checks a JPEG's frame header against the data that follows. Every component's every 8×8 block
 * costs at least one bit of scan data (its DC code), so n bytes of scans hold at most 8n blocks; a
 * header claiming more describes data that is not there, and jpeg-js would allocate for the claim.
 */
function checkJpegFrame(bytes: Uint8Array, file: string): JpegFrame {
  const frame = readJpegFrame(bytes);
  if (typeof frame === 'string') throw corrupt(file, `JPEG structure is damaged: ${frame}`);
  const { width, height, sampling, scanBytes } = frame;
  checkSize(file, width, height);
  const hMax = Math.max(...sampling.map(([h]) => h));
  const vMax = Math.max(...sampling.map(([, v]) => v));
  const blocks = sampling.reduce((sum, [h, v]) => sum + Math.ceil(Math.ceil((width * h) / hMax) / 8) * Math.ceil(Math.ceil((height * v) / vMax) / 8), 0);
  if (blocks > 8 * scanBytes) {
    throw corrupt(file, `JPEG header says ${width}×${height} pixels (${blocks} blocks of 8×8) but only ${scanBytes} bytes of image data follow, which can hold at most ${8 * scanBytes} blocks (truncated file or damaged header)`);
  }
  return frame;
}

function decodeJpeg(bytes: Uint8Array, file: string): DecodedImage {
  const frame = checkJpegFrame(bytes, file);
  // Colour as libjpeg makes it (jpeg-colour.ts): jpeg-js then only decodes the planes. It converts
  // regardless when an Adobe marker asks for a transform, so a copy with that byte cleared goes in.
  const plan = planJpegColour(frame);
  let input = bytes;
  if (plan && frame.adobeTransformAt !== undefined && frame.adobeTransform !== 0) {
    input = bytes.slice();
    input[frame.adobeTransformAt] = 0;
  }
  try {
    const img = jpeg.decode(input, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      maxResolutionInMP: MAX_IMAGE_PIXELS / 1_000_000,
      maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB,
      ...(plan && { colorTransform: false }),
    });
    if (img.data.length !== img.width * img.height * 3) throw new Error(`decoder returned ${img.data.length} bytes for ${img.width}×${img.height} RGB`);
    const data = plan ? jpegToRgb(img.data, img.width, img.height, plan) : img.data;
    const image = { width: img.width, height: img.height, channels: 3, data };
    return frame.exif ? applyExifOrientation(image, readExifOrientation(frame.exif)) : image;
  } catch (e) {
    throw corrupt(file, `not a readable JPEG (${(e as Error).message})`, e);
  }
}

/**
 * Decodes a PNG, JPEG, WebP, BMP or GIF (its first frame), turned upright by its EXIF orientation.
 * PNG greys come back with 1 channel, everything else with 3 (RGB; alpha is dropped); values are
 * 0..255 bytes. `file` names the image in errors (DATA_CORRUPT): a damaged image says what is
 * wrong; any other file says what it is ("holiday.jpg is a text file, not an image").
 */
export function decodeImage(bytes: Uint8Array, file: string): RawImage {
  switch (sniffImageFormat(bytes)) {
    case 'png':
      return decodePng(bytes, file);
    case 'jpeg':
      return decodeJpeg(bytes, file);
    case 'webp':
      return decodeWebp(bytes, file);
    case 'bmp':
      return decodeBmp(bytes, file);
    case 'gif':
      return decodeGif(bytes, file);
    case undefined:
      throw notAnImage(bytes, file);
  }
}

/** A file that is no image at all: say what it is, and ask for an image; nothing here is damaged. */
function notAnImage(bytes: Uint8Array, file: string): GraftError {
  const kind = describeFileKind(bytes);
  if (kind.endsWith(' image')) {
    // HEIC (phones' default), AVIF, TIFF, SVG: an image all the same, in a format graft does not decode.
    return new GraftError('DATA_CORRUPT', `${file} is ${kind}, a format graft does not decode. Convert it to PNG, JPEG, WebP, BMP or GIF (or move it out of the image folder).`);
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return new GraftError(
    'DATA_CORRUPT',
    `${file} is ${kind}, not an image${bytes.length > 0 ? ` (it starts with bytes ${head}; PNG, JPEG, WebP, BMP and GIF are told by their first bytes, not by the file name)` : ''}. Pass a PNG, JPEG, WebP, BMP or GIF image, or move this file out of the image folder.`,
  );
}
