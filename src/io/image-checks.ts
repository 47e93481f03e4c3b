import type { RawImage } from '../data/image.js';
import { GraftError } from '../errors.js';

/**
 * What every image decoder shares: the pixel limit checked against a header before anything is
 * allocated, and the DATA_CORRUPT error that names the file and what is wrong with it.
 */

/** What the decoders return: bytes 0..255, 1 or 3 channels. */
export type DecodedImage = RawImage & { data: Uint8Array };

/** Largest image graft decodes, in pixels (40 megapixels). */
export const MAX_IMAGE_PIXELS = 40_000_000;

/** A damaged image: the file is an image of a known format, but its bytes cannot be what it claims. */
export function corruptImage(file: string, problem: string, cause?: unknown): GraftError {
  return new GraftError(
    'DATA_CORRUPT',
    `${file}: ${problem}. The file is damaged: re-save it (PNG, JPEG, WebP, BMP or GIF), or move it out of the folder.`,
    cause === undefined ? undefined : { cause },
  );
}

/** Refuses a header's size when it is empty or over MAX_IMAGE_PIXELS; call before allocating. */
export function checkImageSize(file: string, width: number, height: number, what = 'the image'): void {
  if (width < 1 || height < 1) throw corruptImage(file, `header says ${what} is ${width}×${height} pixels`);
  if (width * height > MAX_IMAGE_PIXELS) {
    throw corruptImage(file, `header says ${what} is ${width}×${height} pixels, more than graft's limit of ${MAX_IMAGE_PIXELS} pixels`);
  }
}
