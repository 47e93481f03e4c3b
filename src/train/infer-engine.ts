import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { sampleSize, type Dataset } from '../data/dataset.js';
import { sampleRange } from '../data/rows.js';
import type { EngineChoice } from '../engine/engine-choice.js';
import { onnxForward, type OnnxForward } from '../engine/onnx/forward/forward-session.js';
import { inferenceBatch, lossAndAccuracy, predictProbabilities, type LossAccuracy, type LossAccuracyOptions } from './infer.js';
import { modelSampleShape } from './input-shape.js';
import { correctOf, lossOf, probabilities, type OutputHead } from './loss.js';

/** Which engine ran an inference pass; `reason` says why TF.js did when onnxruntime was not ruled out by the caller. */
export interface InferenceEngine {
  engine: 'onnxruntime' | 'tfjs';
  reason?: string;
}

/** Samples per onnxruntime run when streaming a dataset from disk: a few batches at a time. */
const ROWS_CHUNK_BATCHES = 8;

/**
 * `predictProbabilities` with the model's forward pass on onnxruntime where the model translates
 * (buildForwardGraph) and the engine allows it, else on TF.js. A whole ResNet-18 scores 2,000
 * 64×64 images about 8× faster there than on TF.js's wasm backend (bench/RESULTS.md); the
 * probabilities agree to float32 rounding. The session is made for this call and released after
 * it: the weights it holds are the model's at this moment.
 */
export async function predictProbabilitiesOn(
  model: tfl.LayersModel,
  head: OutputHead,
  data: Dataset,
  engineChoice?: EngineChoice,
): Promise<{ probabilities: Float32Array; engine: InferenceEngine }> {
  const run = await outputsOn(model, head, data, engineChoice, false);
  if (typeof run === 'string') return { probabilities: predictProbabilities(model, head, data, data.sampleShape, data.source), engine: { engine: 'tfjs', reason: run } };
  // The same output-to-probabilities step as the TF.js path (sigmoid or softmax of logits where the head has none).
  return { probabilities: onTensor(run.raw, data.y.length, head.units, (out) => probabilities(head, out)), engine: { engine: 'onnxruntime' } };
}

/**
 * `lossAndAccuracy` (validation during a fit) with the forward pass on onnxruntime where the model
 * translates, else on TF.js. The graph ends before the output's softmax/sigmoid, so the loss is
 * taken from logits with the same functions as TF.js's pass (label smoothing included) and the two
 * agree to float32 rounding. Making the session for the epoch's weights included, it was the faster
 * pass for both a ResNet-18 (200 64×64 images: 0.45–0.60 s against TF.js's 2.2–2.3 s) and a
 * 784-300-100-1 MLP (5,000 samples: 0.02–0.03 s against 0.09–0.11 s).
 */
export async function lossAndAccuracyOn(
  model: tfl.LayersModel,
  head: OutputHead,
  data: Dataset,
  options: LossAccuracyOptions = {},
  engineChoice?: EngineChoice,
): Promise<{ result: LossAccuracy; engine: InferenceEngine }> {
  const run = await outputsOn(model, head, data, engineChoice, true);
  if (typeof run === 'string') return { result: lossAndAccuracy(model, head, data, options), engine: { engine: 'tfjs', reason: run } };
  const n = data.y.length;
  const h: OutputHead = run.squashed ? { ...head, activation: 'linear' } : head;
  const [loss, correct] = tf.tidy(() => {
    const out = tf.tensor2d(run.raw, [n, head.units]);
    const y = tf.tensor1d(data.y, 'float32');
    return [lossOf(head, out, run.squashed, y, options.labelSmoothing).dataSync()[0]!, correctOf(head, out, run.squashed, y).dataSync()[0]!];
  });
  const result: LossAccuracy = { loss, accuracy: correct / n };
  if (options.probabilities) result.probabilities = onTensor(run.raw, n, head.units, (out) => probabilities(h, out));
  return { result, engine: { engine: 'onnxruntime' } };
}

/** Why the onnxruntime graph cannot serve samples of `shape` and `head`'s outputs, or undefined when it can. */
function shapeMismatch(onnx: OnnxForward, shape: readonly number[], head: OutputHead): string | undefined {
  if (sampleSize(onnx.inputShape) === sampleSize(shape) && sampleSize(onnx.outputShape) === head.units) return undefined;
  return `the onnxruntime graph reads [${onnx.inputShape.join(', ')}] and writes [${onnx.outputShape.join(', ')}], not [${shape.join(', ')}] and [${head.units}]`;
}

/** f of the [n, units] outputs as a TF.js tensor, read back. */
function onTensor(raw: Float32Array, n: number, units: number, f: (out: tf.Tensor2D) => tf.Tensor): Float32Array {
  const t = tf.tidy(() => f(tf.tensor2d(raw, [n, units])));
  const out = t.dataSync() as Float32Array;
  t.dispose();
  return out;
}

/**
 * Every sample's model output on onnxruntime ([n, units], logits where `logits` and the output
 * had a softmax/sigmoid), or why it runs on TF.js instead. Rows read from disk stream a chunk at a time.
 */
async function outputsOn(model: tfl.LayersModel, head: OutputHead, data: Dataset, engineChoice: EngineChoice | undefined, logits: boolean): Promise<{ raw: Float32Array; squashed: boolean } | string> {
  const n = data.y.length;
  if (n === 0) return 'no samples';
  const shape = modelSampleShape(model, data.sampleShape, data.source);
  const onnx = await onnxForward(model, engineChoice, { logits });
  if (typeof onnx === 'string') return onnx;
  try {
    const outSize = sampleSize(onnx.outputShape);
    const mismatch = shapeMismatch(onnx, shape, head);
    if (mismatch) return mismatch;
    const batch = inferenceBatch(model);
    if (!data.rows) return { raw: await onnx.run(data.x, n, batch), squashed: onnx.squashed };
    // Read from disk a chunk at a time: only the outputs are held whole.
    const raw = new Float32Array(n * outSize);
    const chunk = batch * ROWS_CHUNK_BATCHES;
    const buf = new Float32Array(Math.min(n, chunk) * sampleSize(shape));
    for (let start = 0; start < n; start += chunk) {
      const end = Math.min(n, start + chunk);
      raw.set(await onnx.run(sampleRange(data, start, end, buf), end - start, batch), start * outSize);
    }
    return { raw, squashed: onnx.squashed };
  } finally {
    await onnx.release();
  }
}

/** Class probabilities of batches of samples, one model, many calls (graft predict's chunks). */
export interface ProbabilityRunner {
  /** Probabilities [n, classes] of the first n samples of x (row-major, `sampleShape` each). */
  run(x: Float32Array, n: number, sampleShape: readonly number[], what: string): Promise<Float32Array>;
  /** Where the calls so far ran (onnxruntime, or TF.js and why); TF.js before the first call. */
  engine(): InferenceEngine;
  /** Frees the onnxruntime session, if one was made. */
  release(): Promise<void>;
}

/**
 * A ProbabilityRunner for a model whose weights do not change between calls: one onnxruntime
 * session, made at the first call, serves them all where the model translates (else TF.js, with
 * the reason); outputs become probabilities by the same step as predictProbabilitiesOn's.
 */
export function probabilityRunner(model: tfl.LayersModel, head: OutputHead, engineChoice?: EngineChoice): ProbabilityRunner {
  let session: Promise<OnnxForward | string> | undefined;
  let used: InferenceEngine = { engine: 'tfjs', reason: 'nothing predicted yet' };
  const batch = inferenceBatch(model);
  return {
    async run(x, n, sampleShape, what) {
      session ??= onnxForward(model, engineChoice);
      const onnx = await session;
      const why = typeof onnx === 'string' ? onnx : shapeMismatch(onnx, sampleShape, head);
      if (typeof onnx === 'string' || why !== undefined) {
        used = { engine: 'tfjs', reason: why ?? '' };
        return predictProbabilities(model, head, x.subarray(0, n * sampleSize(sampleShape)), sampleShape, what);
      }
      used = { engine: 'onnxruntime' };
      return onTensor(await onnx.run(x, n, batch), n, head.units, (out) => probabilities(head, out));
    },
    engine: () => used,
    async release() {
      const onnx = await session;
      session = undefined;
      if (onnx && typeof onnx !== 'string') await onnx.release();
    },
  };
}
