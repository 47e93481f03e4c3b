import { readFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import { GraftError } from '../errors.js';
import type { RawImage } from '../data/image.js';

/** Reads a PNG file into RGBA pixels. Corrupt files become a DATA_CORRUPT error naming the file. */
export async function readPng(file: string): Promise<RawImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new GraftError('DATA_NOT_FOUND', `Cannot read image ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Check the path.`);
  }
  try {
    const png = PNG.sync.read(bytes);
    return { width: png.width, height: png.height, channels: 4, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
  } catch (e) {
    throw new GraftError('DATA_CORRUPT', `${file} is not a readable PNG (${(e as Error).message}). Re-save it as PNG.`);
  }
}
