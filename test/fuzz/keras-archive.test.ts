import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { h5lib } from '../../src/io/keras/h5lib.js';
import { loadKerasModelFromBytes, type KerasModel } from '../../src/io/keras/load.js';
import { disposeModel } from '../../src/models/dispose.js';
import { useBackend } from '../helpers.js';
import { checkModelRuns } from './checks.js';
import { FUZZ_TIMEOUT_MS, fuzz } from './harness.js';
import { zipHotRanges } from './layouts.js';
import { BinaryMutator, TextMutator, type Rng } from './mutate.js';

beforeAll(useBackend);

const DIR = path.resolve(__dirname, '../../fixtures/keras');
const SEEDS = ['nested.keras', 'functional.keras'].map((f) => ({ file: f, bytes: new Uint8Array(readFileSync(path.join(DIR, f))) }));
const BINARY = SEEDS.map((s) => new BinaryMutator({ hot: zipHotRanges(s.bytes), magicLength: 4 }));
const JSON_TEXT = new TextMutator();

/** Entry names an archive should never hold: they escape an extraction folder (zip-slip). */
const SLIP_NAMES = ['../evil.json', '..\\evil.json', '/etc/passwd', 'C:\\evil.json', 'a/../../evil.json', 'config.json/../../x', '..'];

/** Re-zips the seed's entries after changing one JSON member, or adds a hostile entry. */
function rezip(files: Record<string, Uint8Array>, rng: Rng): { bytes: Uint8Array; what: string } {
  const k = rng.int(10);
  const out = { ...files };
  if (k < 7) {
    const member = rng.next() < 0.75 ? 'config.json' : 'metadata.json';
    const m = JSON_TEXT.mutate(new TextDecoder().decode(files[member]), rng);
    out[member] = strToU8(m.value);
    return { bytes: zipSync(out), what: `${member}: ${m.what}` };
  }
  if (k < 9) {
    const name = SLIP_NAMES[rng.int(SLIP_NAMES.length)]!;
    out[name] = strToU8('{}');
    return { bytes: zipSync(out), what: `entry ${JSON.stringify(name)} added` };
  }
  const drop = Object.keys(files)[rng.int(Object.keys(files).length)]!;
  delete out[drop];
  return { bytes: zipSync(out), what: `entry ${drop} removed` };
}

describe('fuzzing Keras .keras archives', () => {
  it('every mutation ends in a model or a GraftError, within the memory its size justifies', async () => {
    const tensors = tf.memory().numTensors;
    const mod = (await (await h5lib()).ready) as unknown as { HEAPU8: Uint8Array };
    const members = SEEDS.map((s) => unzipSync(s.bytes));
    await fuzz<Uint8Array, KerasModel>({
      name: 'Keras .keras',
      seed: 12,
      sync: false,
      liveObjects: () => tf.memory().numTensors,
      make: (rng) => {
        const k = rng.int(SEEDS.length);
        if (rng.next() < 0.4) {
          const r = rezip(members[k]!, rng);
          return { input: r.bytes, what: `${SEEDS[k]!.file}: ${r.what}`, size: r.bytes.length };
        }
        const m = BINARY[k]!.mutate(SEEDS[k]!.bytes, rng);
        return { input: m.value, what: `${SEEDS[k]!.file}: ${m.what}`, size: m.value.length };
      },
      run: (bytes, label) => loadKerasModelFromBytes(bytes, label),
      check: (k) => checkModelRuns(k.model),
      dispose: (k) => disposeModel(k.model),
      extraMemory: () => mod.HEAPU8.byteLength,
    });
    expect(tf.memory().numTensors, 'tensors left alive by failed loads').toBe(tensors);
  }, FUZZ_TIMEOUT_MS);
});
