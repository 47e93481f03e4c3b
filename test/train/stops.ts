import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../../src/data/dataset.js';
import type { FitCheckpoint } from '../../src/train/checkpoint.js';
import { fit, type FitOptions } from '../../src/train/fit.js';
import type { FitResult } from '../../src/train/types.js';
import { weightValues } from '../helpers.js';

/** A stop request that fit sees after `k` checks (fit checks once before every batch). */
export function stopAfter(k: number): { readonly aborted: boolean } {
  let checks = 0;
  return {
    get aborted() {
      return checks++ >= k;
    },
  };
}

/** Trains to the end, stopping and resuming (on a freshly built model) after each count of batches in `stops`. */
export async function fitWithStops(make: () => tfl.LayersModel, data: Dataset, options: FitOptions, stops: number[]): Promise<{ result: FitResult; weights: Map<string, Float32Array>; checkpoints: FitCheckpoint[] }> {
  let resumeFrom: FitCheckpoint | undefined;
  const checkpoints: FitCheckpoint[] = [];
  for (const k of [...stops, Infinity]) {
    const model = make();
    const result = await fit(model, data, { ...options, ...(k < Infinity && { signal: stopAfter(k) }), ...(resumeFrom && { resumeFrom }) });
    if (result.stopReason !== 'interrupted') {
      const weights = weightValues(model);
      model.dispose();
      return { result, weights, checkpoints };
    }
    resumeFrom = result.checkpoint!;
    checkpoints.push(resumeFrom);
    model.dispose();
  }
  throw new Error('unreachable');
}
