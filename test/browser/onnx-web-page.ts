import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../src/engine/rng.js';
import type { EngineChoice } from '../../src/engine/engine-choice.js';
import { onnxForward } from '../../src/engine/onnx/forward/forward-session.js';
import { buildMobileNetV2 } from '../../src/models/mobilenetv2.js';
import { glorot } from '../../src/models/output.js';
import { buildSmallCnn } from '../../src/models/small-cnn.js';
import { disposeModel } from '../../src/models/dispose.js';
import { fit } from '../../src/train/fit.js';
import { forward } from '../../src/train/forward.js';
import type { EngineUse } from '../../src/train/stepper.js';

/**
 * The page side of onnx-web.test.ts, bundled for the browser (package.json's browser field swaps in
 * onnxruntime-web) and also imported by Node as it is (onnxruntime-node): the same code trains and
 * extracts features on both, so their results can be compared number for number. Weights cross
 * between them as base64 float32 (plain arrays of MobileNetV2's weights would be megabytes of JSON).
 */

export interface TrainRequest {
  model: 'cnn' | 'mobilenet';
  engine: EngineChoice;
  /** Row-major samples of `sampleShape` each, in [0, 1]. */
  x: number[];
  y: number[];
  sampleShape: number[];
  classes: number;
  epochs: number;
  batchSize: number;
  seed: number;
  /** Initial weights (base64 float32, getWeights() order); absent: the seeded ones the builder made. */
  initial?: string[];
}

export interface TrainResult {
  engine: EngineUse | undefined;
  initial: string[];
  trained: string[];
  steps: number;
  seconds: number;
  /** Each epoch's seconds (the first includes compiling the step graph on onnxruntime). */
  epochSeconds: number[];
  finalLoss: number;
}

export function encodeFloats(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function decodeFloats(s: string): Float32Array {
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

function weightsOf(model: tfl.LayersModel): string[] {
  return model.getWeights().map((w) => encodeFloats(w.dataSync() as Float32Array));
}

function setWeights(model: tfl.LayersModel, encoded: readonly string[]): void {
  const ts = model.getWeights().map((w, i) => tf.tensor(decodeFloats(encoded[i]!), w.shape));
  model.setWeights(ts);
  tf.dispose(ts);
}

/** MobileNetV2 α 0.35 at `side`² (seeded weights) with a global-average-pooled softmax head: a whole-network fine-tune. */
function mobileNetClassifier(side: number, classes: number, seed: number): tfl.LayersModel {
  const base = buildMobileNetV2({ alpha: 0.35, inputShape: [side, side, 3], seed });
  const pooled = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(base.outputs[0]!) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: glorot(new Rng(seed)), name: 'head' }).apply(pooled) as tfl.SymbolicTensor;
  return tfl.model({ inputs: base.inputs, outputs: out, name: 'mobilenet_classifier' });
}

export async function trainModel(r: TrainRequest): Promise<TrainResult> {
  const side = r.sampleShape[0]!;
  const model = r.model === 'cnn'
    ? buildSmallCnn({ inputShape: r.sampleShape, filters: [8, 16], dense: 16, classes: r.classes, seed: r.seed })
    : mobileNetClassifier(side, r.classes, r.seed);
  try {
    if (r.initial) setWeights(model, r.initial);
    const initial = weightsOf(model);
    const data = { x: Float32Array.from(r.x), y: Int32Array.from(r.y), sampleShape: r.sampleShape, classNames: Array.from({ length: r.classes }, (_, k) => `c${k}`), pixelRange: 'unit' as const, source: 'page' };
    const started = performance.now();
    const result = await fit(model, data, { epochs: r.epochs, batchSize: r.batchSize, optimizer: { name: 'adam', learningRate: 0.01 }, seed: r.seed, engine: r.engine });
    const seconds = (performance.now() - started) / 1000;
    const last = result.history.at(-1);
    return { engine: result.engine, initial, trained: weightsOf(model), steps: r.epochs * Math.ceil(r.y.length / r.batchSize), seconds, epochSeconds: result.history.map((h) => h.seconds), finalLoss: last?.loss ?? Number.NaN };
  } finally {
    disposeModel(model);
  }
}

export interface FeatureRequest {
  engine: EngineChoice;
  side: number;
  /** n samples of side×side×3, in [0, 1]. */
  x: string;
  n: number;
  batch: number;
  seed: number;
  initial?: string[];
}

export interface FeatureResult {
  engine: 'onnxruntime' | 'tfjs';
  reason?: string;
  weights: string[];
  features: string;
  seconds: number;
}

/**
 * Frozen-base features of MobileNetV2 α 0.35 (include_top=False): on onnxruntime through
 * onnxForward (what FeatureCache.precompute runs) unless the engine is 'tfjs' or it cannot start,
 * else TF.js's inference batch by batch (what FeatureCache computes then).
 */
export async function extractFeatures(r: FeatureRequest): Promise<FeatureResult> {
  const base = buildMobileNetV2({ alpha: 0.35, inputShape: [r.side, r.side, 3], seed: r.seed });
  try {
    if (r.initial) setWeights(base, r.initial);
    const x = decodeFloats(r.x);
    const started = performance.now();
    const onnx = await onnxForward(base, r.engine);
    let features: Float32Array;
    let reason: string | undefined;
    if (typeof onnx === 'string') {
      reason = onnx;
      const inSize = r.side * r.side * 3;
      const outShape = base.outputs[0]!.shape.slice(1) as number[];
      features = new Float32Array(r.n * outShape.reduce((a, b) => a * b, 1));
      for (let start = 0; start < r.n; start += r.batch) {
        const m = Math.min(r.n, start + r.batch) - start;
        const f = tf.tidy(() => forward(base, tf.tensor(x.subarray(start * inSize, (start + m) * inSize), [m, r.side, r.side, 3]), false));
        features.set(f.dataSync(), start * (features.length / r.n));
        f.dispose();
      }
    } else {
      features = await onnx.run(x, r.n, r.batch);
      await onnx.release();
    }
    const seconds = (performance.now() - started) / 1000;
    return { engine: typeof onnx === 'string' ? 'tfjs' : 'onnxruntime', ...(reason === undefined ? {} : { reason }), weights: weightsOf(base), features: encodeFloats(features), seconds };
  } finally {
    disposeModel(base);
  }
}
export { initBrowserBackend } from '../../src/platform/browser/backend.js';
