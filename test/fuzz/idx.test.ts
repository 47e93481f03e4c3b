import { describe, it } from 'vitest';
import { parseIdx } from '../../src/data/idx.js';
import { gz, idxBytes } from '../data/idx-fixtures.js';
import { hashBytes } from './checks.js';
import { FUZZ_TIMEOUT_MS, fuzz, invariant, MiB } from './harness.js';
import { BinaryMutator } from './mutate.js';

// Images [5, 6, 7] and labels [40]: the two shapes Fashion-MNIST ships, raw and gzipped.
const SEEDS = [idxBytes([5, 6, 7]), idxBytes([40]), gz(idxBytes([5, 6, 7])), gz(idxBytes([40]))];
// Magic and dims (big-endian uint32s) for raw files; gzip header, and the trailer's CRC and length.
const raw = new BinaryMutator({ hot: [[0, 20]], magicLength: 4, endian: 'big' });
const gzipped = new BinaryMutator({ hot: [[0, 12]], magicLength: 3, endian: 'little' });

describe('fuzzing IDX (Fashion-MNIST images and labels)', () => {
  it('every mutation ends in a parsed file or a DATA_CORRUPT error', async () => {
    await fuzz({
      name: 'IDX',
      seed: 101,
      sync: true,
      make: (rng) => {
        const k = rng.int(SEEDS.length);
        const src = SEEDS[k]!;
        // Mutating inside the gzip stream mostly tests zlib; half the time mutate the payload and re-gzip it.
        if (k >= 2 && rng.next() < 0.5) {
          const m = raw.mutate(SEEDS[k - 2]!, rng);
          const input = gz(m.value);
          return { input, what: `gzipped after ${m.what}`, size: input.length };
        }
        const m = (k >= 2 ? gzipped : raw).mutate(src, rng);
        return { input: m.value, what: `${k >= 2 ? 'gzip: ' : ''}${m.what}`, size: m.value.length };
      },
      run: (bytes, label) => parseIdx(bytes, label),
      // A view into the input, plus at most what gzip can inflate: deflate tops out at 1032:1.
      allowance: (size) => 4 * MiB + 1032 * size,
      fingerprint: (r) => `${r.dims.join('×')} ${hashBytes(r.data)}`,
      check: (r) => {
        invariant(r.dims.length >= 1 && r.dims.every((d) => Number.isInteger(d) && d > 0), `bad dims ${r.dims}`);
        invariant(r.data.length === r.dims.reduce((a, b) => a * b, 1), `data length ${r.data.length} does not match dims ${r.dims}`);
      },
    });
  }, FUZZ_TIMEOUT_MS);
});
