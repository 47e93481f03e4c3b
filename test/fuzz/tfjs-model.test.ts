import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { loadModel, type LoadedModel } from '../../src/io/run-dir.js';
import { toTfjsFiles } from '../../src/io/tfjs-format.js';
import { buildSmallCnn } from '../../src/models/small-cnn.js';
import { disposeModel } from '../../src/models/dispose.js';
import { useBackend } from '../helpers.js';
import { checkModelRuns } from './checks.js';
import { FUZZ_TIMEOUT_MS, fuzz } from './harness.js';
import { BinaryMutator, TextMutator, type Rng } from './mutate.js';

beforeAll(useBackend);

interface ModelFiles {
  json: string;
  weights: Uint8Array;
}

const root = mkdtempSync(path.join(tmpdir(), 'graft-fuzz-tfjs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Manifest edits a hostile model.json makes: paths out of the folder, the same file many times, impossible shapes and types. */
const MANIFEST_ATTACKS: ReadonlyArray<[string, (m: { paths: unknown[]; weights: Array<Record<string, unknown>> }) => void]> = [
  ['path ../../etc/passwd', (m) => (m.paths = ['../../etc/passwd'])],
  ['absolute path', (m) => (m.paths = ['/etc/passwd'])],
  ['path through a subfolder and back out', (m) => (m.paths = ['sub/../../weights.bin'])],
  ['weights.bin listed 100000 times', (m) => (m.paths = Array(100_000).fill('weights.bin'))],
  ['weights.bin listed twice', (m) => (m.paths = ['weights.bin', 'weights.bin'])],
  ['no paths', (m) => (m.paths = [])],
  ['a path that is a number', (m) => (m.paths = [7])],
  ['a path that is the folder itself', (m) => (m.paths = ['.'])],
  ['negative dims', (m) => (m.weights[0]!.shape = [-2, -2, 1, 2])],
  ['huge dims', (m) => (m.weights[0]!.shape = [2 ** 31, 2 ** 31])],
  ['fractional dims', (m) => (m.weights[0]!.shape = [0.5, 16])],
  ['shape not a list', (m) => (m.weights[0]!.shape = 'big')],
  ['dtype constructor', (m) => (m.weights[0]!.dtype = 'constructor')],
  ['dtype string', (m) => (m.weights[0]!.dtype = 'string')],
  ['a null weight entry', (m) => (m.weights[0] = null as unknown as Record<string, unknown>)],
  ['quantized weights', (m) => (m.weights[0]!.quantization = { dtype: 'uint8', scale: 1, min: 0 })],
  ['weight names swapped', (m) => ([m.weights[0], m.weights[1]] = [m.weights[1]!, m.weights[0]!])],
  ['a weight removed', (m) => m.weights.pop()],
];

function attack(files: ModelFiles, rng: Rng): { value: ModelFiles; what: string } {
  const json = JSON.parse(files.json) as { weightsManifest: Array<{ paths: unknown[]; weights: Array<Record<string, unknown>> }> };
  const [what, edit] = MANIFEST_ATTACKS[rng.int(MANIFEST_ATTACKS.length)]!;
  edit(json.weightsManifest[0]!);
  return { value: { ...files, json: JSON.stringify(json) }, what: `manifest: ${what}` };
}

describe('fuzzing TF.js layers models (model.json + weights.bin)', () => {
  it('every mutation ends in a working model or a GraftError', async () => {
    const model = buildSmallCnn({ classes: 3, inputShape: [8, 8, 1], filters: [2, 2], dense: 4, seed: 1 });
    const seed = await toTfjsFiles(model, 'graft fuzz');
    disposeModel(model);
    const files: ModelFiles = { json: seed['model.json'], weights: seed['weights.bin'] };
    const text = new TextMutator();
    const binary = new BinaryMutator({ magicLength: 0 });
    const tensors = tf.memory().numTensors;
    await fuzz<ModelFiles, LoadedModel>({
      name: 'TF.js model.json + weights',
      seed: 105,
      sync: false,
      liveObjects: () => tf.memory().numTensors,
      make: (rng) => {
        const k = rng.next();
        if (k < 0.15) {
          const a = attack(files, rng);
          return { input: a.value, what: a.what, size: a.value.json.length + a.value.weights.length };
        }
        if (k < 0.8) {
          const m = text.mutate(files.json, rng);
          return { input: { ...files, json: m.value }, what: `model.json: ${m.what}`, size: m.value.length + files.weights.length };
        }
        const m = binary.mutate(files.weights, rng);
        return { input: { ...files, weights: m.value }, what: `weights.bin: ${m.what}`, size: files.json.length + m.value.length };
      },
      run: async (input, label) => {
        const dir = path.join(root, label);
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, 'model.json'), input.json);
        writeFileSync(path.join(dir, 'weights.bin'), input.weights);
        try {
          return await loadModel(dir);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      check: (loaded) => checkModelRuns(loaded.model),
      dispose: (loaded) => disposeModel(loaded.model),
    });
    expect(tf.memory().numTensors, 'tensors left alive by failed loads').toBe(tensors);
  }, FUZZ_TIMEOUT_MS);
});
