import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/**
 * Frees every weight of a model, nested models included. TF.js's `model.dispose()` leaves the
 * weights of a model nested inside another alive.
 */
export function disposeModel(model: tfl.LayersModel): void {
  // The underlying variables, taken before dispose() (afterwards reading a LayerVariable throws).
  const variables = model.weights.map((w) => w.read());
  try {
    model.dispose();
  } catch {
    // Already disposed, or never fully built: the loop below frees what is left.
  }
  for (const v of variables) if (!v.isDisposed) v.dispose();
}

/**
 * Runs `build` in a tensor scope; if it throws, also frees the variables it created before failing
 * (TF.js keeps variables alive outside any scope). What a built model needs is kept or a variable.
 */
export async function withVariableCleanup<T>(build: () => Promise<T>): Promise<T> {
  const before = new Set(Object.keys(tf.engine().registeredVariables));
  tf.engine().startScope();
  try {
    return await build();
  } catch (e) {
    for (const [name, v] of Object.entries(tf.engine().registeredVariables)) if (!before.has(name)) v.dispose();
    throw e;
  } finally {
    tf.engine().endScope();
  }
}
