import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { dropoutMask } from '../../src/train/onnx/batch-math.js';
import { useBackend } from '../helpers.js';

beforeAll(useBackend);

describe('dropout masks of the onnxruntime engine', () => {
  it("equal TF.js's tf.dropout multiplier bit for bit, for any seed and rate", () => {
    for (const [seed, rate, m, units] of [[0, 0.2, 32, 128], [123456789, 0.5, 7, 33], [2 ** 31 - 1, 0.9, 3, 100], [42, 0.05, 16, 10]] as const) {
      const layer = { seed } as unknown as tfl.layers.Layer;
      const ours = dropoutMask(layer, rate, m * units, new Float32Array(m * units));
      const theirs = tf.tidy(() => tf.dropout(tf.ones([m, units]), rate, undefined, seed).dataSync() as Float32Array);
      expect(Array.from(ours), `seed ${seed}, rate ${rate}`).toEqual(Array.from(theirs));
      const kept = ours.filter((v) => v > 0).length / ours.length;
      expect(Math.abs(kept - (1 - rate)), `kept fraction at rate ${rate}`).toBeLessThan(0.15);
    }
  });
});
