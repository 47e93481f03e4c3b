import * as tf from '@tensorflow/tfjs-core';

/** Number of live tensors; tests assert it is unchanged around tensor-touching code. */
export function liveTensors(): number {
  return tf.memory().numTensors;
}

/** Runs `fn` and throws if it leaves more tensors alive than it found (a leak guard for tests). */
export async function expectNoLeak<T>(fn: () => Promise<T> | T, allowed = 0): Promise<T> {
  const before = liveTensors();
  const result = await fn();
  const after = liveTensors();
  if (after - before > allowed) throw new Error(`tensor leak: ${after - before} tensors left alive (${before} → ${after})`);
  return result;
}
