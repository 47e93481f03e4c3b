import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildMlp } from '../../src/models/mlp.js';
import { reinitialize } from '../../src/models/reinit.js';
import { transfer } from '../../src/transfer/transfer.js';
import { compare } from '../../src/workflows/compare.js';
import { sameValues, useBackend, weightValues } from '../helpers.js';

/**
 * compare's baseline is only a baseline if the scratch arm starts from fresh weights: were it to
 * start from the source's, "transfer helps" could never be found. fit is wrapped to record the
 * weights each training run starts from.
 */
const seen = vi.hoisted(() => [] as Array<{ phase: string; weights: Map<string, Float32Array> }>);
vi.mock('../../src/train/fit.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/train/fit.js')>();
  const { weightValues: values } = await import('../helpers.js');
  return {
    ...real,
    fit: (model: tfl.LayersModel, data: Parameters<typeof real.fit>[1], options: Parameters<typeof real.fit>[2]) => {
      seen.push({ phase: options.phase ?? 'train', weights: values(model) });
      return real.fit(model, data, options);
    },
  };
});

const dataDir = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte.gz')) || existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte'));
if (!haveData) console.log(`skipping compare's scratch-arm test: no Fashion-MNIST in ${dataDir}`);

beforeAll(useBackend);

describe.skipIf(!haveData)("compare's scratch arm", () => {
  it('starts from the seeded fresh initialisation, never from the source weights', async () => {
    const source = buildMlp({ classes: 8, seed: 1 });
    // Non-zero biases and shifted kernels, as a trained source has: fresh biases (zeros) cannot match them by chance.
    const shifted = tf.tidy(() => source.getWeights().map((w) => tf.add(w, 0.05)));
    source.setWeights(shifted);
    tf.dispose(shifted);
    const sourceWeights = weightValues(source);
    const task = 'fashion-mnist:binary=tshirt-top,sandal';
    await compare({ source, task, trainSizes: [5], seeds: 2, frozen: { epochs: 1 }, unfrozen: { epochs: 1 }, dataDir, download: false });
    const scratch = seen.filter((s) => s.phase === 'scratch');
    expect(scratch).toHaveLength(2); // one per seed

    for (const [seed, start] of scratch.entries()) {
      // Every reused weight differs from the source's in (nearly) every element.
      for (const name of ['hidden/kernel', 'hidden/bias']) {
        const a = start.weights.get(name)!;
        const b = sourceWeights.get(name)!;
        let equal = 0;
        for (let i = 0; i < a.length; i++) if (a[i] === b[i]) equal++;
        expect(equal / a.length, `seed ${seed}: ${name} shares ${equal} of ${a.length} values with the source`).toBeLessThan(0.01);
      }
      // A fresh Keras-style start: Glorot-uniform kernels (within ±√(6/(fan in + fan out)), spread over it), zero biases.
      for (const [name, v] of start.weights) {
        if (name.endsWith('/bias')) expect(v.every((x) => x === 0), `seed ${seed}: ${name} is zero`).toBe(true);
        else {
          const shape = [784, 128, 1];
          const [fanIn, fanOut] = name.startsWith('hidden') ? [shape[0]!, shape[1]!] : [shape[1]!, shape[2]!];
          const limit = Math.sqrt(6 / (fanIn + fanOut));
          expect(v.every((x) => Math.abs(x) <= limit), `seed ${seed}: ${name} within ±${limit}`).toBe(true);
          const std = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
          expect(Math.abs(std / (limit / Math.sqrt(3)) - 1), `seed ${seed}: ${name} spread ${std}`).toBeLessThan(0.2);
        }
      }
      // Exactly the seeded reinitialisation of the transferred architecture (reproducible per seed).
      const reference = await transfer(source, { head: { classes: 2 }, seed, freeze: 'all' });
      reinitialize(reference.model, seed);
      for (const [name, v] of weightValues(reference.model)) expect(sameValues(v, start.weights.get(name)!), `seed ${seed}: ${name}`).toBe(true);
      reference.model.dispose();
    }
    // Each seed draws its own start.
    expect(sameValues(scratch[0]!.weights.get('hidden/kernel')!, scratch[1]!.weights.get('hidden/kernel')!)).toBe(false);
    source.dispose();
  });
});
