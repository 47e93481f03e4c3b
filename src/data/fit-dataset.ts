import { GraftError } from '../errors.js';
import { sampleSize, type Dataset } from './dataset.js';
import { fitImage } from './image-convert.js';

export interface ImageFit {
  height: number;
  width: number;
  /** 1 (luma) or 3 (RGB). Default: the dataset's own (1 for [h, w] samples). */
  channels?: 1 | 3;
}

/**
 * Every image resized (bilinear) to height × width and converted to `channels`: the write-up fed
 * 32×32 CIFAR images to a 64×64 VGG16 without resizing. Bilinear weights are convex, so unit-range
 * data stays in [0, 1].
 */
export function fitDataset(ds: Dataset, target: ImageFit): Dataset {
  // Stored rows were fitted to the model when they were decoded (prepare-user.ts).
  if (ds.rows) throw new GraftError('SHAPE_MISMATCH', `${ds.source} is read from disk as decoded; it cannot be resized again. This is a bug in graft.`, { userError: false });
  const { height, width } = target;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1 || height * width > 4096 * 4096) {
    throw new GraftError('BAD_ARGUMENT', `Image size ${height}×${width} is not a sensible whole number of pixels; pass e.g. --input 64.`);
  }
  if (ds.sampleShape.length !== 2 && ds.sampleShape.length !== 3) {
    throw new GraftError('SHAPE_MISMATCH', `${ds.source} holds samples of shape [${ds.sampleShape.join(', ')}], not images ([h, w] or [h, w, c]); it cannot be resized.`);
  }
  const [h, w] = ds.sampleShape as [number, number];
  const c = ds.sampleShape[2] ?? 1;
  const channels = target.channels ?? (c === 1 ? 1 : 3);
  const sameShape = h === height && w === width && c === channels;
  if (sameShape) return ds.sampleShape.length === 3 ? ds : { ...ds, sampleShape: [h, w, 1] };
  const inSize = sampleSize(ds.sampleShape);
  const outSize = height * width * channels;
  const n = ds.y.length;
  const x = new Float32Array(n * outSize);
  for (let i = 0; i < n; i++) {
    const img = fitImage({ width: w, height: h, channels: c, data: ds.x.subarray(i * inSize, (i + 1) * inSize) }, width, height, channels);
    x.set(img.data, i * outSize);
  }
  return { ...ds, x, sampleShape: [height, width, channels], source: `${ds.source} (${height}×${width}×${channels})` };
}
