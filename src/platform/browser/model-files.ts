import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../../errors.js';
import { assertFiniteWeights } from '../../io/weights-finite.js';
import type { TfjsModelFiles } from '../../io/tfjs-files.js';
import { checkLoadedModel } from '../../io/loaded-model-check.js';
import { disposeModel, withVariableCleanup } from '../../models/dispose.js';
// Registers graft's own layer classes (OnnxBlock) before any topology is read.
import '../../models/onnx-block/layer.js';

/**
 * Loads a TF.js layers model from its files held in memory (what toTfjsFiles writes, or what a page
 * read from a file input or fetch): a source model or backbone weights without a file system.
 */
export async function loadTfjsModelFromFiles(files: TfjsModelFiles, what = 'model.json'): Promise<tfl.LayersModel> {
  let json: { modelTopology?: unknown; weightsManifest?: Array<{ weights?: tf.io.WeightsManifestEntry[] }> };
  try {
    json = JSON.parse(files['model.json']) as typeof json;
  } catch (e) {
    throw new GraftError('MODEL_CORRUPT', `${what} is not JSON (${(e as Error).message}). Pass the model.json text that toTfjsFiles or TF.js's converter wrote.`, { cause: e });
  }
  const specs = json.weightsManifest?.flatMap((group) => group.weights ?? []);
  if (json.modelTopology === undefined || specs === undefined) {
    throw new GraftError('MODEL_CORRUPT', `${what} has no ${json.modelTopology === undefined ? 'modelTopology' : 'weightsManifest'}; received keys ${JSON.stringify(Object.keys(json))}. Pass a TF.js layers model (format "layers-model").`);
  }
  const bytes = files['weights.bin'];
  const declared = specs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * (s.dtype === 'bool' ? 1 : 4), 0);
  if (declared !== bytes.byteLength) {
    throw new GraftError('MODEL_CORRUPT', `${what}'s manifest declares ${declared} bytes of weights but weights.bin holds ${bytes.byteLength}. Pass the weights.bin saved with this model.json.`);
  }
  // A copy: TF.js keeps the buffer, and the caller's view may be a slice of a larger one.
  const weightData = bytes.slice().buffer;
  const model = await withVariableCleanup(() => tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology as object, weightSpecs: specs, weightData })));
  // The same checks as a model read from disk (loadTfjsModel).
  try {
    checkLoadedModel(model, what);
    assertFiniteWeights(model, what);
  } catch (e) {
    disposeModel(model);
    throw e;
  }
  return model;
}
