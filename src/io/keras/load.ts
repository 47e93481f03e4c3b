import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../../errors.js';
import { READ_LIMITS, readRegularFile } from '../regular-file.js';
import { loadKerasModelFromBytes, loadKerasWeightsFromBytes, type KerasModel } from './load-bytes.js';

// The file half of Keras loading; the in-memory half (load-bytes.ts) has no node:fs, for the browser entry.
export { loadKerasModelFromBytes, loadKerasWeightsFromBytes, type KerasModel } from './load-bytes.js';

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

/** Applies a weights-only file (Keras 3 `.weights.h5` or legacy `save_weights` .h5) to a model. */
export async function loadKerasWeights(model: tfl.LayersModel, file: string): Promise<void> {
  return loadKerasWeightsFromBytes(model, await readModelBytes(file), file);
}
