// What bench/browser-node.mjs hands the bench page and what both sides report back. The Node side
// (plain JavaScript in the .mjs) builds the same objects; keep the two in step.

export interface BenchSettings {
  /** Side of the square input (MobileNetV2 is rebuilt at this size). */
  input: number;
  classNames: string[];
  batchSize: number;
  frozenEpochs: number;
  unfrozenEpochs: number;
  /** Adam's rate in the frozen phase; the unfrozen phase uses it × unfrozenLrFactor (the app: a tenth). */
  learningRate: number;
  unfrozenLrFactor: number;
  dropout: number;
  seed: number;
}

export interface PageRun {
  settings: BenchSettings;
  /** auto: onnxruntime-web where it applies (its files served at /ort/), as the app; tfjs: TF.js throughout. */
  engine: 'auto' | 'tfjs';
}

/** Seconds. source + transfer + fineTune + evaluate = total; frozen and unfrozen split fineTune (each holds its feature cache's build). */
export interface BenchTimes {
  /** TF.js model from its bytes, MobileNetV2 rebuilt at the input size, weights copied by name. */
  source: number;
  /** transfer(): the new head on the reused base. */
  transfer: number;
  fineTune: number;
  /** The frozen phase, its feature cache's build included. */
  frozen: number;
  /** The feature cache's build alone (the frozen base run once over the training images). */
  features: number;
  unfrozen: number;
  /** Inside unfrozen: the cache of the still-frozen layers below the unfrozen block, built once. */
  unfrozenFeatures: number;
  evaluate: number;
  total: number;
}

export interface RunResult {
  side: 'browser' | 'node';
  backend: string;
  /** Page only: onnxruntime-web's set-up, whether the page was cross-origin isolated (wasm threads), its cores, how the engine was chosen. */
  onnx?: string;
  crossOriginIsolated?: boolean;
  hardwareConcurrency?: number;
  engineSetBy?: 'setDefaultEngine' | 'onnxWasmPaths';
  userAgent?: string;
  times: BenchTimes;
  engines: Array<{ phase: string; engine: string; reason?: string; features?: string }>;
  accuracy: number;
  testImages: number;
  trainImages: number;
  finalLoss: number;
}

/** The app's decoding path on the bench's JPEGs (decode-check.ts): `urls` in the order of the train rows, then the test rows. */
export interface DecodeRun {
  urls: string[];
  side: number;
}

export interface DecodeResult {
  seconds: number;
  images: number;
  /** Against Node's pixels of the same images, in [0, 1] units. */
  maxAbsDiff: number;
  meanAbsDiff: number;
}
