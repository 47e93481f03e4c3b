import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../../src/engine/rng.js';
import { GraftError } from '../../../src/errors.js';
import { loadKerasModelFromBytes } from '../../../src/io/keras/load.js';
import { disposeModel } from '../../../src/models/dispose.js';
import { useBackend } from '../../helpers.js';

beforeAll(useBackend);

const DIR = path.resolve(__dirname, '../../../fixtures/keras');
const N = Number(process.env.GRAFT_FUZZ_N ?? 500);

/** One mutation: a truncation, a few bit flips, or a 4-byte field set to 0 or 0xffffffff (sizes, offsets). */
function mutate(src: Uint8Array, rng: Rng): { bytes: Uint8Array; what: string } {
  const kind = rng.int(3);
  // Headers and directories sit at the start (HDF5 superblock, zip local header) and the end (zip
  // central directory): aim half of the mutations there.
  const pos = (): number => (rng.next() < 0.5 ? rng.int(Math.min(src.length, 4096)) : rng.next() < 0.5 ? src.length - 1 - rng.int(Math.min(src.length, 1024)) : rng.int(src.length));
  if (kind === 0) {
    const at = rng.int(src.length);
    return { bytes: src.slice(0, at), what: `truncated at ${at}` };
  }
  const bytes = src.slice();
  if (kind === 1) {
    const flips = 1 + rng.int(8);
    for (let i = 0; i < flips; i++) bytes[pos()]! ^= 1 << rng.int(8);
    return { bytes, what: `${flips} bit flips` };
  }
  const at = Math.min(pos(), bytes.length - 4);
  bytes.fill(rng.next() < 0.5 ? 0 : 0xff, at, at + 4);
  return { bytes, what: `4 bytes overwritten at ${at}` };
}

describe.each([
  ['.h5 (legacy full model)', 'nested.h5', 11],
  ['.keras archive', 'nested.keras', 12],
])('fuzzing %s', (_label, file, seed) => {
  it(`${N} mutations each end in a model or a GraftError, quickly and without runaway memory`, async () => {
    const src = new Uint8Array(readFileSync(path.join(DIR, file)));
    const rng = new Rng(seed);
    const outcomes = { loaded: 0, refused: 0 };
    const rssBefore = process.memoryUsage().rss;
    const tensorsBefore = tf.memory().numTensors;
    let slowest = 0;
    for (let i = 0; i < N; i++) {
      const { bytes, what } = mutate(src, rng);
      const started = performance.now();
      try {
        const { model } = await loadKerasModelFromBytes(bytes, `${file} (${what})`);
        outcomes.loaded++;
        disposeModel(model);
      } catch (e) {
        if (!(e instanceof GraftError)) throw new Error(`mutation ${i} (${what}) threw a non-graft error: ${(e as Error)?.stack ?? String(e)}`);
        expect(e.message.length, `mutation ${i}`).toBeGreaterThan(20);
        outcomes.refused++;
      }
      slowest = Math.max(slowest, performance.now() - started);
    }
    console.log(`fuzz ${file}: ${N} mutations, ${outcomes.refused} refused with a GraftError, ${outcomes.loaded} still loaded; slowest ${slowest.toFixed(0)} ms; tensors alive ${tf.memory().numTensors}`);
    expect(outcomes.refused).toBeGreaterThan(N / 4);
    expect(slowest).toBeLessThan(5000);
    expect(tf.memory().numTensors, 'tensors left alive by failed loads').toBe(tensorsBefore);
    // Known gap: the HDF5 C library allocates a variable-length string's declared length before
    // reading it; one mutation of a length field (0x20000006) makes it reserve 512 MiB, inside
    // h5wasm's 2 GiB heap cap, and then fail cleanly. Bounded, but more than a 40 KB file justifies.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(1024 * 1024 * 1024);
  });
});
