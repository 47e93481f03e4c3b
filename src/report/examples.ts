import type { SampleRows } from '../data/rows.js';
import { misclassifiedExamples } from '../evaluate/misclassified.js';
import { GraftError } from '../errors.js';
import { imageShape, samplePngDataUri } from './png.js';

/** One wrongly classified test image, as examples.json stores it beside run.json. */
export interface ExampleImage {
  label: string;
  predicted: string;
  /** Probability the model gave its wrong prediction. */
  confidence: number;
  /** data:image/png;base64,… */
  dataUri: string;
}

/** The content of examples.json: read by `graft report` for the misclassified-image grid. */
export interface ExamplesFile {
  images: ExampleImage[];
}

export const EXAMPLES_FILE = 'examples.json';

/**
 * The most confidently wrong test images, ready for examples.json. `x` holds the samples
 * row-major with `sampleShape` each; `probs` is [n, classes] from `predictProbabilities`;
 * `pixelScale` maps the values of `x` to [0, 1] (default 1: already normalised).
 * Samples that are not images (e.g. tabular features) give an empty list.
 */
export function buildExamples(
  x: Float32Array | SampleRows,
  sampleShape: readonly number[],
  probs: Float32Array,
  classes: number,
  labels: Int32Array,
  classNames: readonly string[],
  pixelScale = 1,
  max = 24,
): ExamplesFile {
  const shape = imageShape(sampleShape);
  if (!shape) return { images: [] };
  const size = shape.reduce((a, b) => a * b, 1);
  const rows = x instanceof Float32Array ? undefined : x;
  if (rows ? rows.count !== labels.length || rows.size !== size : (x as Float32Array).length !== labels.length * size) {
    throw new GraftError('SHAPE_MISMATCH', `buildExamples: x has ${rows ? rows.count * rows.size : (x as Float32Array).length} values, expected ${labels.length} samples × ${size} (shape [${sampleShape.join(', ')}]). Pass the same samples that were scored.`);
  }
  const name = (k: number): string => classNames[k] ?? String(k);
  return {
    images: misclassifiedExamples(probs, classes, labels, max).map((m) => ({
      label: name(m.label),
      predicted: name(m.predicted),
      confidence: m.confidence,
      dataUri: samplePngDataUri(rows ? rows.read([m.index], 0, 1, new Float32Array(size)) : (x as Float32Array).subarray(m.index * size, (m.index + 1) * size), shape, pixelScale),
    })),
  };
}
