import * as path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { parseIdx } from '../data/idx.js';
import { resizeBilinear, toGrayscale, type RawImage } from '../data/image.js';
import { readPng } from '../io/png.js';
import { READ_LIMITS, readRegularFile } from '../io/regular-file.js';
import { predictProbabilities } from '../train/infer.js';
import { describeOutput } from '../train/loss.js';
import { argmaxRows } from '../evaluate/metrics.js';

export interface Prediction {
  /** File and, for IDX files, the image's index in it. */
  file: string;
  index?: number;
  label: number;
  className: string;
  probabilities: number[];
}

/**
 * Predicts PNG images (converted to grayscale and resized to the model's input when needed) and
 * IDX image files. `pixelScale` is the run's preprocessing, applied here once.
 */
export async function predictFiles(model: tfl.LayersModel, files: readonly string[], opts: { classNames?: readonly string[]; pixelScale?: number } = {}): Promise<Prediction[]> {
  const head = describeOutput(model);
  const input = model.inputs[0]!.shape.slice(1);
  // A flat input of n×n values (e.g. 784) is an n×n grayscale image laid out in a row.
  const side = input.length === 1 && typeof input[0] === 'number' ? Math.round(Math.sqrt(input[0])) : 0;
  const image = side > 0 && side * side === input[0] ? [side, side] : input;
  if (image.length < 2 || image.some((d) => d === null)) {
    throw new GraftError('SHAPE_MISMATCH', `Prediction from image files needs a model with a fixed image input; this one takes [${input.map((d) => d ?? '?').join(', ')}].`);
  }
  const [h, w] = image as number[];
  const channels = image.length === 3 ? (image[2] as number) : 1;
  if (channels !== 1) throw new GraftError('SHAPE_MISMATCH', `This version predicts grayscale models from files; the model expects ${channels} channels.`);
  const scale = opts.pixelScale ?? 1 / 255;
  const names = opts.classNames ?? Array.from({ length: head.classes }, (_, i) => `class ${i}`);
  const results: Prediction[] = [];
  for (const file of files) {
    const images = await readImages(file);
    const x = new Float32Array(images.length * h! * w!);
    images.forEach((img, i) => {
      const fitted = resizeBilinear(toGrayscale(img), w!, h!);
      for (let j = 0; j < h! * w!; j++) x[i * h! * w! + j] = fitted.data[j]! * scale;
    });
    const probs = predictProbabilities(model, head, x, [h!, w!], file);
    const labels = argmaxRows(probs, head.classes);
    labels.forEach((label, i) => {
      const p: Prediction = { file, label, className: names[label] ?? String(label), probabilities: Array.from(probs.subarray(i * head.classes, (i + 1) * head.classes)) };
      if (images.length > 1 || !file.toLowerCase().endsWith('.png')) p.index = i;
      results.push(p);
    });
  }
  return results;
}

async function readImages(file: string): Promise<RawImage[]> {
  if (path.extname(file).toLowerCase() === '.png') return [await readPng(file)];
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readRegularFile(file, { maxBytes: READ_LIMITS.dataset, expected: 'a PNG image or an IDX images file', code: 'DATA_NOT_FOUND' }));
  } catch (e) {
    if (e instanceof GraftError) throw e;
    throw new GraftError('DATA_NOT_FOUND', `Cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Check the path.`);
  }
  const { dims, data } = parseIdx(bytes, file);
  if (dims.length !== 3) {
    throw new GraftError('BAD_ARGUMENT', `${file} is an IDX file of shape [${dims.join(', ')}]; predict needs images, [count, height, width]. Pass PNG files or an images IDX file.`);
  }
  const [n, ih, iw] = dims as [number, number, number];
  return Array.from({ length: n }, (_, i) => ({ width: iw, height: ih, channels: 1, data: data.subarray(i * ih * iw, (i + 1) * ih * iw) }));
}
