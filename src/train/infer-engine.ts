import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { sampleSize, type Dataset } from '../data/dataset.js';
import { sampleRange } from '../data/rows.js';
import type { EngineChoice } from '../engine/engine-choice.js';
import { onnxForward } from '../engine/onnx/forward/forward-session.js';
import { inferenceBatch, predictProbabilities } from './infer.js';
import { modelSampleShape } from './input-shape.js';
import { probabilities, type OutputHead } from './loss.js';

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
  const tfjs = (reason: string): { probabilities: Float32Array; engine: InferenceEngine } => ({
    probabilities: predictProbabilities(model, head, data, data.sampleShape, data.source),
    engine: { engine: 'tfjs', reason },
  });
  const n = data.y.length;
  const shape = modelSampleShape(model, data.sampleShape, data.source);
  if (n === 0) return { probabilities: new Float32Array(0), engine: { engine: 'tfjs', reason: 'no samples' } };
  const onnx = await onnxForward(model, engineChoice);
  if (typeof onnx === 'string') return tfjs(onnx);
  try {
    const outSize = sampleSize(onnx.outputShape);
    if (sampleSize(onnx.inputShape) !== sampleSize(shape) || outSize !== head.units) {
      return tfjs(`the onnxruntime graph reads [${onnx.inputShape.join(', ')}] and writes [${onnx.outputShape.join(', ')}], not [${shape.join(', ')}] and [${head.units}]`);
    }
    const batch = inferenceBatch(model);
    let raw: Float32Array;
    if (!data.rows) raw = await onnx.run(data.x, n, batch);
    else {
      // Read from disk a chunk at a time: only the outputs are held whole.
      raw = new Float32Array(n * outSize);
      const chunk = batch * ROWS_CHUNK_BATCHES;
      const buf = new Float32Array(Math.min(n, chunk) * sampleSize(shape));
      for (let start = 0; start < n; start += chunk) {
        const end = Math.min(n, start + chunk);
        raw.set(await onnx.run(sampleRange(data, start, end, buf), end - start, batch), start * outSize);
      }
    }
    // The same output-to-probabilities step as the TF.js path (sigmoid or softmax of logits where the head has none).
    const p = tf.tidy(() => probabilities(head, tf.tensor2d(raw, [n, head.units])));
    const out = p.dataSync() as Float32Array;
    p.dispose();
    return { probabilities: out, engine: { engine: 'onnxruntime' } };
  } finally {
    await onnx.release();
  }
}
