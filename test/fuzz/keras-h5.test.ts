import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { h5lib } from '../../src/io/keras/h5lib.js';
import { openH5 } from '../../src/io/keras/hdf5.js';
import { loadKerasModelFromBytes, type KerasModel } from '../../src/io/keras/load.js';
import { assignWeights } from '../../src/io/keras/weights.js';
import { disposeModel } from '../../src/models/dispose.js';
import { useBackend } from '../helpers.js';
import { checkModelRuns } from './checks.js';
import { FUZZ_TIMEOUT_MS, fuzz } from './harness.js';
import { hdf5HotRanges } from './layouts.js';
import { BinaryMutator } from './mutate.js';

beforeAll(useBackend);

const DIR = path.resolve(__dirname, '../../fixtures/keras');
const read = (f: string): Uint8Array => new Uint8Array(readFileSync(path.join(DIR, f)));

/** h5wasm's heap: the C library's allocations, which never shrink back. */
async function wasmHeap(): Promise<() => number> {
  const mod = (await (await h5lib()).ready) as unknown as { HEAPU8: Uint8Array };
  return () => mod.HEAPU8.byteLength;
}

const FULL = ['nested.h5', 'cnn.h5'].map((f) => ({ file: f, bytes: read(f) }));
const FULL_MUTATORS = FULL.map((s) => new BinaryMutator({ hot: hdf5HotRanges(s.bytes), magicLength: 8 }));

describe('fuzzing Keras .h5 files', () => {
  it('full-model .h5: every mutation ends in a model or a GraftError, within the memory its size justifies', async () => {
    const tensors = tf.memory().numTensors;
    const heap = await wasmHeap();
    await fuzz<Uint8Array, KerasModel>({
      name: 'Keras .h5 (full model)',
      seed: 11,
      sync: false,
      liveObjects: () => tf.memory().numTensors,
      make: (rng) => {
        const k = rng.int(FULL.length);
        const m = FULL_MUTATORS[k]!.mutate(FULL[k]!.bytes, rng);
        return { input: m.value, what: `${FULL[k]!.file}: ${m.what}`, size: m.value.length };
      },
      run: (bytes, label) => loadKerasModelFromBytes(bytes, label),
      check: (k) => checkModelRuns(k.model),
      dispose: (k) => disposeModel(k.model),
      extraMemory: heap,
    });
    expect(tf.memory().numTensors, 'tensors left alive by failed loads').toBe(tensors);
  }, FUZZ_TIMEOUT_MS);

  it('weights-only .h5 (Keras 3 and legacy layouts): every mutation ends in loaded weights or a GraftError', async () => {
    const tensors = tf.memory().numTensors;
    const heap = await wasmHeap();
    const { model } = await loadKerasModelFromBytes(read('nested.h5'), 'nested.h5');
    const seeds = ['nested.weights.h5', 'nested.legacy-weights.h5'].map((f) => ({ file: f, bytes: read(f) }));
    const mutators = seeds.map((s) => new BinaryMutator({ hot: hdf5HotRanges(s.bytes), magicLength: 8 }));
    try {
      await fuzz<Uint8Array, tfl.LayersModel>({
        name: 'Keras weights .h5',
        seed: 13,
        sync: false,
        liveObjects: () => tf.memory().numTensors,
        make: (rng) => {
          const k = rng.int(seeds.length);
          const m = mutators[k]!.mutate(seeds[k]!.bytes, rng);
          return { input: m.value, what: `${seeds[k]!.file}: ${m.what}`, size: m.value.length };
        },
        run: async (bytes, label) => {
          const h5 = await openH5(bytes, label);
          try {
            assignWeights(model, h5, label);
          } finally {
            h5.close();
          }
          return model;
        },
        extraMemory: heap,
      });
    } finally {
      disposeModel(model);
    }
    expect(tf.memory().numTensors, 'tensors left alive by failed loads').toBe(tensors);
  }, FUZZ_TIMEOUT_MS);
});
