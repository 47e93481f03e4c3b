import { PNG } from 'pngjs';
import { GraftError } from '../errors.js';

/**
 * One image sample as a PNG data URI, so the report embeds its images and needs no files or
 * network. `shape` is [h, w], [h, w, 1] or [h, w, 3]; `scale` maps the values to [0, 1]
 * (1 for data already normalised, 1/255 for raw bytes). Out-of-range values are clipped.
 */
export function samplePngDataUri(sample: Float32Array, shape: readonly number[], scale = 1): string {
  const [h = 0, w = 0, c = 1] = shape;
  if (shape.length < 2 || shape.length > 3 || !(h > 0 && w > 0) || (c !== 1 && c !== 3) || sample.length !== h * w * c) {
    throw new GraftError('SHAPE_MISMATCH', `Cannot draw a sample of shape [${shape.join(', ')}] with ${sample.length} values as an image. Images need [height, width], [height, width, 1] or [height, width, 3].`);
  }
  // Pixels go in as RGBA; the file stores grey or RGB only, which keeps the data URI small.
  const png = new PNG({ width: w, height: h, colorType: c === 1 ? 0 : 2, inputColorType: 6, inputHasAlpha: true });
  const byte = (v: number): number => Math.round(255 * Math.min(1, Math.max(0, Number.isFinite(v) ? v * scale : 0)));
  for (let p = 0; p < h * w; p++) {
    const o = p * 4;
    if (c === 1) {
      const g = byte(sample[p]!);
      png.data[o] = g;
      png.data[o + 1] = g;
      png.data[o + 2] = g;
    } else {
      png.data[o] = byte(sample[p * 3]!);
      png.data[o + 1] = byte(sample[p * 3 + 1]!);
      png.data[o + 2] = byte(sample[p * 3 + 2]!);
    }
    png.data[o + 3] = 255;
  }
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}

/** Reads a flat sample shape such as [784] as the square image it usually is ([28, 28]). */
export function imageShape(sampleShape: readonly number[]): number[] | undefined {
  if (sampleShape.length === 2 || (sampleShape.length === 3 && (sampleShape[2] === 1 || sampleShape[2] === 3))) return [...sampleShape];
  if (sampleShape.length === 1) {
    const side = Math.round(Math.sqrt(sampleShape[0] ?? 0));
    if (side > 0 && side * side === sampleShape[0]) return [side, side];
  }
  return undefined;
}
