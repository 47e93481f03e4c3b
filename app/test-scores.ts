import type * as tfl from '@tensorflow/tfjs-layers';
import { confusionMatrix, perClassMetrics, predictArrays, sampleSize, type ClassMetrics, type Dataset } from '../src/browser.js';

/** Floats read per prediction call: a 224×224 test set is read 16 MB at a time, never whole. */
const READ_FLOATS = 4 * 2 ** 20;

/** Test pixels sent to the page whole up to this size; above it only the shown images go (a 224×224 test set of 1,600 is 963 MB as float32). */
export const TEST_PIXELS_LIMIT_BYTES = 64 * 2 ** 20;

/** The samples `start..end` of a dataset as float32, read through its rows when it has them. */
export function readSamples(ds: Dataset, start: number, end: number, out?: Float32Array): Float32Array {
  const size = sampleSize(ds.sampleShape);
  if (!ds.rows) return ds.x.subarray(start * size, end * size);
  const buf = out && out.length >= (end - start) * size ? out : new Float32Array((end - start) * size);
  return ds.rows.read(Int32Array.from({ length: end - start }, (_, k) => start + k), 0, end - start, buf);
}

/** Class probabilities of every sample, row-major [n, classes], reading a bounded number of samples at a time. */
export function probabilitiesOf(model: tfl.LayersModel, ds: Dataset, readFloats = READ_FLOATS): Float32Array<ArrayBuffer> {
  const size = sampleSize(ds.sampleShape);
  const n = ds.y.length;
  const chunk = Math.max(1, Math.floor(readFloats / size));
  const buf = ds.rows ? new Float32Array(Math.min(n, chunk) * size) : undefined;
  let out: Float32Array<ArrayBuffer> | undefined;
  for (let start = 0; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    const p = predictArrays(model, readSamples(ds, start, end, buf), ds.sampleShape);
    const classes = p.length / (end - start);
    out ??= new Float32Array(n * classes);
    out.set(p, start * classes);
  }
  return out ?? new Float32Array(0);
}

export interface TestScore {
  accuracy: number;
  /** confusion[true][predicted]. */
  confusion: number[][];
  perClass: ClassMetrics[];
}

/** Accuracy, confusion and per-class metrics of probabilities against the labels. */
export function scoreOf(probabilities: Float32Array, y: Int32Array, classNames: readonly string[]): TestScore {
  const classes = classNames.length;
  const predicted = new Int32Array(y.length);
  let correct = 0;
  for (let i = 0; i < y.length; i++) {
    predicted[i] = argmax(probabilities.subarray(i * classes, (i + 1) * classes));
    if (predicted[i] === y[i]) correct++;
  }
  const confusion = confusionMatrix(y, predicted, classes);
  return { accuracy: correct / y.length, confusion, perClass: perClassMetrics(confusion, classNames) };
}

/** Test images predicted wrongly, most confident first (at most `most`). */
export function confidentlyWrong(probabilities: Float32Array, y: Int32Array, classes: number, most = 8): number[] {
  const rows: Array<{ i: number; p: number }> = [];
  for (let i = 0; i < y.length; i++) {
    const row = probabilities.subarray(i * classes, (i + 1) * classes);
    const best = argmax(row);
    if (best !== y[i]) rows.push({ i, p: row[best]! });
  }
  return rows.sort((a, b) => b.p - a.p).slice(0, most).map((r) => r.i);
}

/**
 * What the page gets of the test set: every image with its label and probabilities while that is
 * small (tests compare the page's probabilities with Node's on them), else only the shown wrong
 * images, renumbered 0..k-1, so the result never holds a large test set as float32.
 */
export function testImagesToSend(ds: Dataset, probabilities: Float32Array<ArrayBuffer>, wrong: number[], limitBytes = TEST_PIXELS_LIMIT_BYTES): { testX: Float32Array<ArrayBuffer>; testY: Int32Array<ArrayBuffer>; probabilities: Float32Array<ArrayBuffer>; wrong: number[] } {
  const n = ds.y.length;
  const size = sampleSize(ds.sampleShape);
  if (n * size * 4 <= limitBytes) return { testX: readSamples(ds, 0, n).slice(), testY: ds.y.slice(), probabilities, wrong };
  const classes = probabilities.length / n;
  const testX = new Float32Array(wrong.length * size);
  const picked = new Float32Array(wrong.length * classes);
  wrong.forEach((i, k) => {
    testX.set(readSamples(ds, i, i + 1), k * size);
    picked.set(probabilities.subarray(i * classes, (i + 1) * classes), k * classes);
  });
  return { testX, testY: Int32Array.from(wrong, (i) => ds.y[i]!), probabilities: picked, wrong: wrong.map((_, k) => k) };
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k]! > row[best]!) best = k;
  return best;
}
