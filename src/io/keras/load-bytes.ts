import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../../errors.js';
import { parseJson, readKerasArchive } from './archive.js';
import { normalizeKerasConfig } from './config.js';
import { detectLayout, assignWeights } from './weights.js';
import { openH5 } from './hdf5.js';
import { disposeModel, withVariableCleanup } from '../../models/dispose.js';
import { checkLoadedModel } from '../loaded-model-check.js';
import { assertFiniteWeights } from '../weights-finite.js';
import { READ_LIMITS } from '../read-limits.js';

// The in-memory half of Keras loading: no file system, so the browser entry uses it as it is.
// load.ts adds reading the bytes from a path.

export interface KerasModel {
  model: tfl.LayersModel;
  /** The Keras version that wrote the file, as recorded in it. */
  kerasVersion: string;
  /** 'keras-h5': legacy full-model HDF5 (Keras 2.x, tf.keras, Keras 3 legacy); 'keras-v3': a .keras zip. */
  format: 'keras-h5' | 'keras-v3';
}

/** Bytes in memory are held to the limit a file read from disk is (h5wasm's 32-bit heap). */
function checkSize(bytes: Uint8Array, what: string): void {
  if (bytes.byteLength > READ_LIMITS.model) {
    throw new GraftError('MODEL_CORRUPT', `${what} is ${bytes.byteLength} bytes, more than the ${READ_LIMITS.model} bytes graft reads as a Keras model (h5wasm holds it in a 32-bit heap). Pass a smaller model.`);
  }
}

/** A Keras model (.keras zip or full-model .h5) from bytes in memory, judged by content; `what` names them in errors. */
export async function loadKerasModelFromBytes(bytes: Uint8Array, what: string): Promise<KerasModel> {
  checkSize(bytes, what);
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return loadArchive(bytes, what);
  return loadH5(bytes, what);
}

/**
 * Applies weights-only bytes (Keras 3 `.weights.h5`, or a legacy `save_weights` .h5 such as Keras
 * applications' `*_no_top.h5`) to a model, layer by layer by name; `what` names them in errors.
 */
export async function loadKerasWeightsFromBytes(model: tfl.LayersModel, bytes: Uint8Array, what: string): Promise<void> {
  checkSize(bytes, what);
  const h5 = await openH5(bytes, what);
  try {
    assignWeights(model, h5, what);
    assertFiniteWeights(model, what);
  } finally {
    h5.close();
  }
}

async function loadArchive(bytes: Uint8Array, what: string): Promise<KerasModel> {
  const archive = readKerasArchive(bytes, what);
  const { topology, tree } = normalizeKerasConfig(archive.config, what);
  const model = await buildModel(topology, what);
  try {
    const h5 = await openH5(archive.weights, `${what}: model.weights.h5`);
    try {
      assignWeights(model, h5, `${what}: model.weights.h5`, tree);
      assertFiniteWeights(model, what);
    } finally {
      h5.close();
    }
  } catch (e) {
    disposeModel(model); // a half-loaded model must not keep its tensors alive
    throw e;
  }
  const by = typeof archive.metadata.written_by === 'string' ? ` (file written by ${archive.metadata.written_by})` : '';
  return { model, kerasVersion: `${String(archive.metadata.keras_version ?? 'unknown')}${by}`, format: 'keras-v3' };
}

async function loadH5(bytes: Uint8Array, what: string): Promise<KerasModel> {
  const h5 = await openH5(bytes, what);
  try {
    const config = h5.attr('/', 'model_config');
    if (config === undefined) {
      const weightsOnly = detectLayout(h5) !== undefined;
      throw new GraftError(
        'BAD_ARGUMENT',
        weightsOnly
          ? `${what} holds weights only (from save_weights), not a model: there is no architecture to build. Load it onto a model graft builds (a backbone) instead, or save the full model with model.save().`
          : `${what} is an HDF5 file without a Keras model_config; it was not written by Keras model.save().`,
      );
    }
    const { topology, tree } = normalizeKerasConfig(parseJson(String(config), `${what}: model_config`), what);
    const model = await buildModel(topology, what);
    try {
      assignWeights(model, h5, what, tree);
      assertFiniteWeights(model, what);
      // Reading the version can fail too (a damaged string): the model must not outlive that.
      const version = h5.attr('/', 'keras_version') ?? h5.attr('/model_weights', 'keras_version');
      return { model, kerasVersion: String(version ?? 'unknown'), format: 'keras-h5' };
    } catch (e) {
      disposeModel(model);
      throw e;
    }
  } finally {
    h5.close();
  }
}

async function buildModel(topology: object, what: string): Promise<tfl.LayersModel> {
  let model: tfl.LayersModel;
  try {
    model = await withVariableCleanup(() => tfl.models.modelFromJSON({ modelTopology: topology } as Parameters<typeof tfl.models.modelFromJSON>[0]));
  } catch (e) {
    throw new GraftError('MODEL_CORRUPT', `${what}: the model config could not be built (${(e as Error).message.split('\n')[0]}).`, { cause: e });
  }
  try {
    checkLoadedModel(model, what);
  } catch (e) {
    disposeModel(model);
    throw e;
  }
  return model;
}
