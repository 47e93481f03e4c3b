import { PNG } from 'pngjs';
import { GraftError } from '../errors.js';
import type { RawImage } from '../data/image.js';
import { checkPng, sniffImageFormat } from './image-decode.js';
import { READ_LIMITS, readRegularFile } from './regular-file.js';

/** Reads a PNG file into RGBA pixels. Corrupt files become a DATA_CORRUPT error naming the file. */
export async function readPng(file: string): Promise<RawImage> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, { maxBytes: READ_LIMITS.image, expected: 'a PNG image file', code: 'DATA_NOT_FOUND' });
  } catch (e) {
    if (e instanceof GraftError) throw e;
    throw new GraftError('DATA_NOT_FOUND', `Cannot read image ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Check the path.`);
  }
  return decodePngRgba(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
}

/**
 * Decodes PNG bytes into RGBA pixels (4 channels, alpha kept). checkPng runs first, so a file
 * claiming more pixels than its data holds, or whose data does not inflate cleanly, is refused
 * before pngjs allocates for the claim or decodes garbage.
 */
export function decodePngRgba(bytes: Uint8Array, file: string): RawImage {
  if (sniffImageFormat(bytes) !== 'png') {
    throw new GraftError('DATA_CORRUPT', `${file} is not a PNG (it does not start with 89 50 4e 47). Re-save it as PNG.`);
  }
  checkPng(bytes, file);
  try {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { width: png.width, height: png.height, channels: 4, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
  } catch (e) {
    throw new GraftError('DATA_CORRUPT', `${file} is not a readable PNG (${(e as Error).message}). Re-save it as PNG.`, { cause: e });
  }
}
