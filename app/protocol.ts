// Messages between the page (main.ts) and the training worker (worker.ts). Typed arrays travel as
// transferables; File objects are cloned (the worker decodes them, so the page never blocks).

/** How the page asks for an ONNX model's preprocessing (ONNX files do not say). Default imagenet. */
export const ONNX_PREPROCESSING = ['imagenet', 'tf', 'caffe', 'scale', 'raw'] as const;
export type OnnxPreprocessing = (typeof ONNX_PREPROCESSING)[number];

/** The chosen source, as bytes (they travel to the worker, which builds the model). */
export type SourceFiles =
  /** A TF.js layers model: model.json's text and its weight files joined in the manifest's order. */
  | { kind: 'tfjs'; name: string; modelJson: string; weights: Uint8Array }
  /** A Keras model: a .keras archive or a full-model .h5 (told apart by content when loaded). */
  | { kind: 'keras'; name: string; bytes: Uint8Array }
  /** An ONNX model with the weights inside; `layout` unset: read from the input's shape. */
  | { kind: 'onnx'; name: string; bytes: Uint8Array; preprocess: OnnxPreprocessing; layout?: 'nchw' | 'nhwc' }
  /** graft app's built-in source: MobileNetV2 α 0.35 with Keras applications' ImageNet weights (weights-only .h5). */
  | { kind: 'builtin'; name: string; alpha: 0.35; weights: Uint8Array };

export interface TrainSettings {
  /** Side of the square images the model sees (MobileNetV2 sources are rebuilt at this size). */
  input: number;
  /** Seeds per arm: the verdict needs ≥ 2 (one seed cannot separate a difference from luck). */
  seeds: number;
  frozenEpochs: number;
  unfrozenEpochs: number;
  batchSize: number;
  learningRate: number;
  /** Fractions of each class held out for testing, then for validation (of the rest). */
  testFraction: number;
  validationFraction: number;
}

export const SETTINGS_DEFAULTS: TrainSettings = {
  input: 96,
  seeds: 3,
  frozenEpochs: 5,
  unfrozenEpochs: 5,
  batchSize: 16,
  learningRate: 0.001,
  testFraction: 0.2,
  validationFraction: 0.15,
};

export type ToWorker =
  | { type: 'load'; source: SourceFiles; classes: Array<{ name: string; files: File[] }>; settings: TrainSettings }
  | { type: 'train' }
  | { type: 'predict'; file: File };

export interface SplitCounts {
  classNames: string[];
  /** [class][train, validation, test]. */
  counts: number[][];
  skipped: string[];
  source: string;
}

export interface EpochInfo {
  arm: 'transfer' | 'scratch';
  seed: number;
  phase: string;
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
}

export interface TrainResult {
  verdict: string;
  verdictWords: string;
  transferErrors: number[];
  scratchErrors: number[];
  testAccuracy: number;
  confusion: number[][];
  classNames: string[];
  input: number;
  /** Training time of each arm, all seeds together. */
  seconds: { transfer: number; scratch: number };
  /** Test images as the model saw them (row-major [n, input, input, 3], 0..1) and its probabilities [n, classes]: the whole test set while its pixels take ≤ 64 MB as float32, else only the `wrong` ones (test-scores.ts). */
  testX: Float32Array;
  testY: Int32Array;
  probabilities: Float32Array;
  /** Indices into testX of the most confidently wrong predictions, worst first. */
  wrong: number[];
  /** A format the model cannot be written in is empty (length 0), its reason in `notExported` (an ONNX source's blocks have no Keras layer). */
  keras: Uint8Array;
  onnx: Uint8Array;
  tfjsJson: string;
  tfjsWeights: Uint8Array;
  notExported?: string[];
  report: string;
}

export type FromWorker =
  | { type: 'status'; text: string }
  | { type: 'decoded'; done: number; total: number }
  | { type: 'split'; split: SplitCounts }
  | { type: 'progress'; fraction: number; text: string }
  | { type: 'epoch'; info: EpochInfo }
  | { type: 'result'; result: TrainResult }
  | { type: 'prediction'; probabilities: number[]; classNames: string[] }
  | { type: 'error'; message: string };
