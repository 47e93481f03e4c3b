import * as tf from '@tensorflow/tfjs-core';
import { initBrowserBackend, loadKerasModelFromBytes, loadKerasWeightsFromBytes, loadOnnxSourceFromBytes, predictArrays, readImageZip, disposeModel, isGraftError } from '../../src/browser.js';

/**
 * The page side of library-bytes.test.ts, bundled for the browser: model files and image zips
 * arrive as bytes (base64, as page.evaluate passes JSON), are loaded with the browser entry alone,
 * and what they compute goes back as plain arrays for Node to check.
 */

export interface ModelRequest {
  kind: 'keras' | 'keras-weights' | 'onnx';
  name: string;
  bytes: string;
  /** keras-weights: the model file whose architecture receives the weights (its own weights zeroed first). */
  architecture?: { name: string; bytes: string };
  /** onnx: the pixel preprocessing (ONNX files do not say). */
  preprocess?: string;
  /** Row-major samples in the model's input shape, without the batch axis. */
  x: number[];
  sampleShape: number[];
}

export interface ModelResult {
  backend: string;
  outputs: number[];
  /** What the loader reported: Keras version and format, or the ONNX source's info. */
  about: string;
}

const fromBase64 = (s: string): Uint8Array => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

export async function predictFromBytes(req: ModelRequest): Promise<ModelResult> {
  const backend = await initBrowserBackend({ backend: 'cpu' });
  let model;
  let about: string;
  if (req.kind === 'onnx') {
    const source = await loadOnnxSourceFromBytes(fromBase64(req.bytes), req.name, { preprocess: req.preprocess ?? 'raw' });
    model = source.model;
    about = JSON.stringify(source.info);
  } else if (req.kind === 'keras') {
    const loaded = await loadKerasModelFromBytes(fromBase64(req.bytes), req.name);
    model = loaded.model;
    about = `${loaded.format} ${loaded.kerasVersion}`;
  } else {
    const arch = req.architecture!;
    model = (await loadKerasModelFromBytes(fromBase64(arch.bytes), arch.name)).model;
    model.setWeights(model.weights.map((w) => tf.zerosLike(w.read())));
    await loadKerasWeightsFromBytes(model, fromBase64(req.bytes), req.name);
    about = `weights onto ${arch.name}`;
  }
  try {
    return { backend: backend.description, outputs: Array.from(predictArrays(model, Float32Array.from(req.x), req.sampleShape)), about };
  } finally {
    disposeModel(model);
  }
}

/** The classes, file names and sizes readImageZip finds, or the error it raises. */
export function readZip(bytes: string, name: string): { classes: Array<{ name: string; files: Array<[string, number]> }>; skipped: string[] } | { error: string; graft: boolean } {
  try {
    const z = readImageZip(fromBase64(bytes), name);
    return { classes: z.classes.map((c) => ({ name: c.name, files: c.files.map((f): [string, number] => [f.name, f.bytes.length]) })), skipped: z.skipped };
  } catch (e) {
    return { error: (e as Error).message, graft: isGraftError(e) };
  }
}

/** Whether bytes that need external data are refused with graft's message. */
export async function onnxRefusal(bytes: string, name: string): Promise<{ message: string; code: string }> {
  try {
    await loadOnnxSourceFromBytes(fromBase64(bytes), name, { preprocess: 'scale' });
    return { message: 'loaded', code: '' };
  } catch (e) {
    return { message: (e as Error).message, code: isGraftError(e) ? e.code : 'not a GraftError' };
  }
}
