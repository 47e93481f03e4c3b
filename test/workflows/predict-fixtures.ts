import * as path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../../src/data/dataset.js';
import type { ResizeMode } from '../../src/data/image-convert.js';
import { Rng } from '../../src/engine/rng.js';
import { saveRun } from '../../src/io/run-dir.js';
import { buildMlp } from '../../src/models/mlp.js';
import { buildSmallCnn } from '../../src/models/small-cnn.js';
import { fit } from '../../src/train/fit.js';
import { testRunInfo } from '../helpers.js';

/**
 * Two tiny trained graft runs for predict's tests. RGB: a small CNN on 16×16 colour images telling
 * red, green and blue apart, so a prediction that lost the colour (greyed the image) is wrong. Grey:
 * an MLP on 28×28 images telling a bright band in the top half from one in the bottom half (one
 * sigmoid unit), so an image fitted wrongly (rotated, cropped away) is told apart too.
 */

export const RGB_CLASSES = ['red', 'green', 'blue'];
export const GREY_CLASSES = ['top', 'bottom'];

/** An RGB image (0..255) dominated by channel `k`, with seeded noise. */
export function colourImage(width: number, height: number, k: number, rng: Rng): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = c === k ? 150 + Math.floor(rng.next() * 106) : Math.floor(rng.next() * 90);
  }
  return rgb;
}

/** A grey image (0..255) with a bright horizontal band in the top (k = 0) or bottom (k = 1) half. */
export function bandImage(width: number, height: number, k: number, rng: Rng): Uint8Array {
  const g = new Uint8Array(width * height);
  const from = Math.floor((k === 0 ? 0.15 : 0.6) * height);
  const to = Math.floor((k === 0 ? 0.4 : 0.85) * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) g[y * width + x] = y >= from && y < to ? 180 + Math.floor(rng.next() * 76) : Math.floor(rng.next() * 40);
  return g;
}

function dataset(n: number, shape: number[], classes: string[], make: (k: number, rng: Rng) => Uint8Array): Dataset {
  const rng = new Rng(7);
  const size = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n * size);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % classes.length;
    make(y[i]!, rng).forEach((v, j) => (x[i * size + j] = v / 255));
  }
  return { x, y, sampleShape: shape, classNames: classes, pixelRange: 'unit', source: 'predict-fixture' };
}

async function trainAndSave(dir: string, model: tfl.LayersModel, data: Dataset, resize: ResizeMode | undefined): Promise<void> {
  await fit(model, data, { epochs: 4, batchSize: 16, optimizer: { name: 'adam', learningRate: 0.01 }, seed: 1, engine: 'tfjs' });
  await saveRun(dir, model, testRunInfo({ classNames: data.classNames.slice(), sampleShape: [...data.sampleShape], preprocessing: { pixelScale: 1 / 255, ...(resize && { resize }) } }));
}

/** Trains and saves both runs under `root`: root/rgb (resize 'crop' recorded) and root/grey (no resize recorded: an older run, squashed). */
export async function makePredictRuns(root: string): Promise<{ rgb: string; grey: string }> {
  const rgb = path.join(root, 'rgb');
  const grey = path.join(root, 'grey');
  const cnn = buildSmallCnn({ classes: 3, inputShape: [16, 16, 3], filters: [4, 4], dense: 8, dropout: 0, seed: 3 });
  await trainAndSave(rgb, cnn, dataset(120, [16, 16, 3], RGB_CLASSES, (k, r) => colourImage(16, 16, k, r)), 'crop');
  cnn.dispose();
  const mlp = buildMlp({ classes: 2, inputShape: [28, 28], hidden: 16, dropout: 0, seed: 4 });
  await trainAndSave(grey, mlp, dataset(120, [28, 28], GREY_CLASSES, (k, r) => bandImage(28, 28, k, r)), undefined);
  mlp.dispose();
  return { rgb, grey };
}
