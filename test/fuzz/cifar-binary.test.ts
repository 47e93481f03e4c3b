import { describe, it } from 'vitest';
import { CIFAR10_RECORD_BYTES, parseCifar10Batches } from '../../src/data/cifar-binary.js';
import { cifarBatch } from '../data/cifar-fixtures.js';
import { hashBytes } from './checks.js';
import { FUZZ_TIMEOUT_MS, fuzz, invariant, MiB } from './harness.js';
import { BinaryMutator } from './mutate.js';

// Three records; the label bytes (0, 3073, 6146) are the only structure the format has.
const BATCH = cifarBatch([3, 5, 9]);
const labels = Array.from({ length: 3 }, (_, r) => [r * CIFAR10_RECORD_BYTES, r * CIFAR10_RECORD_BYTES + 4] as const);
const mutator = new BinaryMutator({ hot: labels, magicLength: 1 });

describe('fuzzing CIFAR-10 binary batches', () => {
  it('every mutation ends in a dataset or a DATA_CORRUPT error', async () => {
    await fuzz({
      name: 'CIFAR-10 binary',
      seed: 102,
      sync: true,
      make: (rng) => {
        // A second, intact batch half of the time: damage in one file of several must still be named.
        const m = mutator.mutate(BATCH, rng);
        const two = rng.next() < 0.5;
        return { input: two ? [BATCH, m.value] : [m.value], what: `${two ? 'second of two batches: ' : ''}${m.what}`, size: m.value.length + (two ? BATCH.length : 0) };
      },
      run: (batches, label) => parseCifar10Batches(batches.map((bytes, i) => ({ bytes, file: `${label}/data_batch_${i + 1}.bin` })), label),
      // Float32 pixels: 4 bytes per input byte.
      allowance: (size) => 4 * MiB + 8 * size,
      fingerprint: (d) => `${d.y.length} ${hashBytes(d.y)} ${hashBytes(d.x)}`,
      check: (d) => {
        invariant(d.y.length > 0 && d.x.length === d.y.length * 3072, `x has ${d.x.length} values for ${d.y.length} labels`);
        invariant(d.y.every((l) => l >= 0 && l < 10), 'label out of range');
      },
    });
  }, FUZZ_TIMEOUT_MS);
});
