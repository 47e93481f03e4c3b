import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../../errors.js';
import { parseJson, readKerasArchive } from './archive.js';
import { normalizeKerasConfig } from './config.js';
import { detectLayout, assignWeights } from './weights.js';
import { openH5 } from './hdf5.js';
import { disposeModel, withVariableCleanup } from '../../models/dispose.js';
import { checkLoadedModel } from '../tfjs-format.js';
import { assertFiniteWeights } from '../weights-finite.js';
import { READ_LIMITS, readRegularFile } from '../regular-file.js';

export interface KerasModel {
  model: tfl.LayersModel;
  /** The Keras version that wrote the file, as recorded in it. */
  kerasVersion: string;
  /** 'keras-h5': legacy full-model HDF5 (Keras 2.x, tf.keras, Keras 3 legacy); 'keras-v3': a .keras zip. */
  format: 'keras-h5' | 'keras-v3';
}

export async function readModelBytes(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readRegularFile(file, { maxBytes: READ_LIMITS.model, expected: 'a Keras .keras or .h5 model file', code: 'MODEL_NOT_FOUND' }));
  } catch (e) {
    if (e instanceof GraftError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new GraftError('MODEL_NOT_FOUND', `Cannot read ${file} (${code ?? (e as Error).message}). Check the path.`);
  }
}

/** Loads a Keras model (.h5 full model or .keras archive), judging the format by content. */
export async function loadKerasModel(file: string): Promise<KerasModel> {
  return loadKerasModelFromBytes(await readModelBytes(file), file);
}

/** The same from bytes in memory; `what` names them in errors. */
export async function loadKerasModelFromBytes(bytes: Uint8Array, what: string): Promise<KerasModel> {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return loadArchive(bytes, what);
  return loadH5(bytes, what);
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

/** Applies a weights-only file (Keras 3 `.weights.h5` or legacy `save_weights` .h5) to a model. */
export async function loadKerasWeights(model: tfl.LayersModel, file: string): Promise<void> {
  const h5 = await openH5(await readModelBytes(file), file);
  try {
    assignWeights(model, h5, file);
    assertFiniteWeights(model, file);
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
