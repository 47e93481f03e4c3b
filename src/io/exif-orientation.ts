import type { DecodedImage } from './image-checks.js';

/**
 * EXIF orientation (tag 0x0112): how a camera's stored pixels must be turned to stand upright.
 * Applied inside decodeImage, as Pillow's ImageOps.exif_transpose and browsers do, so a portrait
 * photo never reaches a model lying on its side. Damaged or odd EXIF is ignored, never an error:
 * the pixels are still good, only the hint is lost.
 */

const ORIENTATION_TAG = 0x0112;
const EXIF_PREFIX = [0x45, 0x78, 0x69, 0x66, 0, 0]; // "Exif\0\0"

/** The orientation 1–8 from a TIFF-structured EXIF block (with or without "Exif\0\0"), else 1. */
export function readExifOrientation(exif: Uint8Array): number {
  const tiff = EXIF_PREFIX.every((b, i) => exif[i] === b) ? exif.subarray(6) : exif;
  if (tiff.length < 8) return 1;
  const little = tiff[0] === 0x49 && tiff[1] === 0x49; // "II"
  if (!little && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return 1; // neither "II" nor "MM"
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  if (view.getUint16(2, little) !== 42) return 1;
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > tiff.length) return 1;
  const count = view.getUint16(ifd, little);
  for (let k = 0; k < count; k++) {
    const entry = ifd + 2 + 12 * k;
    if (entry + 12 > tiff.length) return 1;
    if (view.getUint16(entry, little) !== ORIENTATION_TAG) continue;
    // SHORT (type 3), one value, stored in the first two bytes of the value field.
    if (view.getUint16(entry + 2, little) !== 3 || view.getUint32(entry + 4, little) < 1) return 1;
    const value = view.getUint16(entry + 8, little);
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

/**
 * Turns an image by EXIF orientation o. Output pixel (x, y) takes source pixel at(x, y); for 5–8
 * width and height swap. Names as in the EXIF spec: 6 is "rotate 90° clockwise to view".
 */
export function applyExifOrientation(img: DecodedImage, o: number): DecodedImage {
  if (o < 2 || o > 8) return img;
  const { width: w, height: h, channels: c, data } = img;
  const swap = o >= 5;
  const [ow, oh] = swap ? [h, w] : [w, h];
  type Source = (x: number, y: number) => [number, number];
  const source = ([
    (x, y) => [x, y],
    (x, y) => [x, y],
    (x, y) => [w - 1 - x, y], // 2: mirrored
    (x, y) => [w - 1 - x, h - 1 - y], // 3: upside down
    (x, y) => [x, h - 1 - y], // 4: mirrored upside down
    (x, y) => [y, x], // 5: transposed
    (x, y) => [y, h - 1 - x], // 6: turn clockwise
    (x, y) => [w - 1 - y, h - 1 - x], // 7: transversed
    (x, y) => [w - 1 - y, x], // 8: turn anticlockwise
  ] satisfies Source[])[o]!;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const [sx, sy] = source(x, y);
      const from = (sy * w + sx) * c;
      out.set(data.subarray(from, from + c), (y * ow + x) * c);
    }
  }
  return { width: ow, height: oh, channels: c, data: out };
}
