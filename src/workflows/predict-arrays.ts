import { GraftError } from '../errors.js';
import type { RawImage } from '../data/image.js';
import type { ResizeMode } from '../data/image-convert.js';
import { loadModel, type LoadedModel } from '../io/run-dir.js';
import { imageFeeder, predictPreprocessing, type ClassProbability, type Prediction } from './predict.js';

/**
 * `predict(run, images)` for library users: pixel arrays or decoded images go through exactly the
 * path `graft predict` takes for files (predict.ts imageFeeder: channels, resize mode, pixel scale,
 * rounding as run.json says), so the same picture gets the same probabilities either way.
 */

/**
 * One image as pixels, rows top to bottom, channels interleaved (RGBRGB…), values 0..255 as an image
 * file holds them (graft scales them as the run was trained). `channels` 1 (grey), 3 (RGB) or 4
 * (RGBA, alpha ignored); when absent it is read from the buffer's length, so a canvas ImageData
 * passes as it is. graft's own decoded images (RawImage) fit this shape.
 */
export interface PixelImage {
  data: Uint8Array | Uint8ClampedArray | Float32Array;
  width: number;
  height: number;
  channels?: number;
}

export interface ArrayPredictOptions {
  /** Overrides run.json's resize mode, as `graft predict --resize`. Default: the run's. */
  resize?: ResizeMode;
  /** Classes listed per image in `top`, most probable first. Default min(3, classes). */
  top?: number;
}

export interface ArrayPrediction {
  /** Index of the most probable class. */
  classIndex: number;
  /** Its name (run.json's class names; "class k" for a bare model file). */
  className: string;
  /** Every class's probability, in class order. */
  probabilities: number[];
  /** The `top` classes, most probable first. */
  top: ClassProbability[];
}

/** Predicts `images` with a loaded run (loadModel) or the path of one, applying the run's own preprocessing. */
export async function predict(run: LoadedModel | string, images: readonly PixelImage[], options: ArrayPredictOptions = {}): Promise<ArrayPrediction[]> {
  const loaded = typeof run === 'string' ? await loadModel(run) : run;
  try {
    const prep = predictPreprocessing(loaded.model, loaded.run, options.resize);
    const results: Prediction[] = [];
    const feeder = imageFeeder(loaded.model, {
      ...(loaded.run && { classNames: loaded.run.classNames }),
      pixelScale: prep.pixelScale,
      resize: prep.resize,
      ...(prep.quantize !== undefined && { quantize: prep.quantize }),
      ...(options.top !== undefined && { top: options.top }),
    }, results);
    // Every image is checked before any runs, so a bad one at the end costs no model time.
    const raws = images.map((img, i) => toRawImage(img, i));
    try {
      for (const [i, img] of raws.entries()) await feeder.add({ file: `image ${i}` }, img);
      await feeder.flush();
    } finally {
      await feeder.release();
    }
    return results.map((r) => {
      const probabilities = r.probabilities!;
      const classIndex = probabilities.reduce((best, p, k) => (p > probabilities[best]! ? k : best), 0);
      return { classIndex, className: feeder.classNames[classIndex]!, probabilities, top: r.predictions! };
    });
  } finally {
    // A model this function loaded is its own to free; a caller's stays theirs.
    if (typeof run === 'string') loaded.model.dispose();
  }
}

/** Checks one image's shape against its buffer and gives it graft's decoded-image form. */
function toRawImage(img: PixelImage, index: number): RawImage {
  const what = `image ${index}`;
  if (img === null || typeof img !== 'object' || !(img.data instanceof Uint8Array || img.data instanceof Uint8ClampedArray || img.data instanceof Float32Array)) {
    throw new GraftError('BAD_ARGUMENT', `${what} is not a pixel image: predict takes { data, width, height, channels } with data a Uint8Array, Uint8ClampedArray or Float32Array; received ${describe(img)}. Decode files with graft predict, or pass their pixels.`);
  }
  const { width, height } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new GraftError('SHAPE_MISMATCH', `${what} has size ${String(width)}×${String(height)}; width and height must be whole numbers ≥ 1. Pass the image's pixel width and height.`);
  }
  const pixels = width * height;
  const channels = img.channels ?? img.data.length / pixels;
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    const said = img.channels === undefined ? `its ${img.data.length} values are ${channels.toFixed(2)} per pixel of ${width}×${height}` : `channels is ${String(img.channels)}`;
    throw new GraftError('SHAPE_MISMATCH', `${what}: ${said}; predict takes 1 (grey), 3 (RGB) or 4 (RGBA) channels. Pass the buffer of a ${width}×${height} image with its channels.`);
  }
  if (img.data.length !== pixels * channels) {
    throw new GraftError('SHAPE_MISMATCH', `${what} holds ${img.data.length} values, but ${width}×${height}×${channels} needs ${pixels * channels}. Pass width, height and channels that match the buffer (rows top to bottom, channels interleaved).`);
  }
  const data = img.data instanceof Uint8ClampedArray ? new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.length) : img.data;
  if (data instanceof Float32Array) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (!(v >= 0 && v <= 255)) throw new GraftError('BAD_ARGUMENT', `${what} has value ${v} at index ${i}; pixels are 0..255 as in an image file (graft scales them as the run was trained). Pass unscaled pixels.`);
    }
  }
  return { width, height, channels, data };
}

function describe(v: unknown): string {
  if (v === null || typeof v !== 'object') return String(v);
  const data = (v as { data?: unknown }).data;
  return `an object whose data is ${data === undefined ? 'missing' : data?.constructor?.name ?? typeof data}`;
}
