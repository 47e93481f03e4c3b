import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { strToU8, unzipSync } from 'fflate';
import { GraftError } from '../../src/errors.js';
import { loadKerasModel, loadKerasModelFromBytes } from '../../src/io/keras/load.js';
import { loadModel } from '../../src/io/run-dir.js';
import { disposeModel } from '../../src/models/dispose.js';
import { useBackend } from '../helpers.js';
import { buildZip, deflatedSpaces } from './zip-bomb.js';

/**
 * Model files built to exhaust memory or the stack: zip bombs (honest and lying directories), a
 * zip64 archive that is not hostile at all, and a topology of a million layers.
 */

beforeAll(useBackend);
const root = mkdtempSync(path.join(tmpdir(), 'graft-hostile-models-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const MiB = 2 ** 20;
const FIXTURES = path.resolve(__dirname, '../../fixtures/keras');
const MLP = unzipSync(new Uint8Array(readFileSync(path.join(FIXTURES, 'mlp.keras'))));

/** A .keras whose config.json is the real one followed by `mib` MiB of spaces (still valid JSON), declaring `declared` bytes. */
function spacesBomb(mib: number, declared?: number): Uint8Array {
  const config = MLP['config.json']!;
  return buildZip([
    { name: 'metadata.json', stored: MLP['metadata.json']! },
    { name: 'config.json', deflated: deflatedSpaces(config, mib), size: declared ?? config.length + mib * MiB },
    { name: 'model.weights.h5', stored: MLP['model.weights.h5']! },
  ]);
}

/** The GraftError `load` ends in, checked to come within `ms` and with array buffers growing by under 64 MiB. */
async function refusedQuickly(load: () => Promise<unknown>, ms = 3000): Promise<GraftError> {
  const before = process.memoryUsage().arrayBuffers;
  const t0 = Date.now();
  let error: unknown;
  try {
    disposeModel((await load()) as tfl.LayersModel);
  } catch (e) {
    error = e;
  }
  expect(Date.now() - t0).toBeLessThan(ms);
  expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * MiB);
  if (!(error instanceof GraftError)) throw new Error(`expected a GraftError, got ${error === undefined ? 'a loaded model' : String(error)}`);
  return error;
}

describe('zip bombs in .keras files', () => {
  it('the bomb builder makes a real deflate stream of the size it claims', () => {
    const prefix = strToU8('{"a": 1}');
    const out = inflateRawSync(deflatedSpaces(prefix, 8));
    expect(out.length).toBe(prefix.length + 8 * MiB);
    expect(out.subarray(prefix.length).every((b) => b === 0x20)).toBe(true);
    expect(new TextDecoder().decode(out.subarray(0, prefix.length))).toBe('{"a": 1}');
  });

  it('a ~2 MB .keras whose config.json inflates to 1.9 GB is refused before inflating', async () => {
    const bytes = spacesBomb(1900);
    expect(bytes.length).toBeLessThan(2.5 * MiB);
    const e = await refusedQuickly(() => loadKerasModelFromBytes(bytes, 'bomb.keras'));
    expect(e).toMatchObject({ code: 'MODEL_CORRUPT' });
    expect(e.message).toMatch(/^bomb\.keras: zip entry "config\.json" declares 19922\d{5} bytes uncompressed, more than the 67108864 bytes graft allows for it/);
  });

  it('a config.json of 450 MB of spaces is refused (it was accepted at ~1 GB peak)', async () => {
    const e = await refusedQuickly(() => loadKerasModelFromBytes(spacesBomb(450), 'spaces.keras'));
    expect(e.message).toMatch(/zip entry "config\.json" declares 4718\d{5} bytes uncompressed, more than the 67108864 bytes/);
  });

  it('a directory that understates the size is caught while inflating, at the declared size', async () => {
    const bytes = spacesBomb(1900, 1 * MiB); // declares 1 MiB, inflates to 1.9 GB
    const e = await refusedQuickly(() => loadKerasModelFromBytes(bytes, 'liar.keras'), 1500);
    expect(e.message).toMatch(/liar\.keras: zip entry "config\.json" inflates to more than the 1048576 bytes its directory declares/);
  });

  it('a directory that overstates the size is refused too', async () => {
    const config = MLP['config.json']!;
    const bytes = spacesBomb(1, config.length + MiB + 1000); // within the deflate ratio, so only inflating can tell
    const e = await refusedQuickly(() => loadKerasModelFromBytes(bytes, 'over.keras'));
    expect(e.message).toMatch(/entry "config\.json" inflates to \d+ bytes, its directory declares \d+/);
  });

  it('the same archive with an honest, small config loads (the refusals above are the sizes, not the builder)', async () => {
    const config = MLP['config.json']!;
    const honest = buildZip([
      { name: 'metadata.json', stored: MLP['metadata.json']! },
      { name: 'config.json', deflated: deflatedSpaces(config, 1), size: config.length + MiB },
      { name: 'model.weights.h5', stored: MLP['model.weights.h5']! },
    ]);
    const { model } = await loadKerasModelFromBytes(honest, 'honest.keras');
    expect(model.layers.length).toBeGreaterThan(1);
    disposeModel(model);
  });
});

describe('zip64 .keras archives (written by Python zipfile)', () => {
  const reference = JSON.parse(readFileSync(path.join(FIXTURES, 'mlp.json'), 'utf8')) as { input_shape: number[]; input: unknown[]; output: unknown[] };
  const predict = (model: tfl.LayersModel): Float32Array =>
    tf.tidy(() => (model.predict(tf.tensor((reference.input as number[]).flat(Infinity) as number[], reference.input_shape)) as tf.Tensor).dataSync() as Float32Array);

  it.each(['mlp_zip64.keras', 'mlp_zip64_entries.keras'])('%s loads and predicts exactly as mlp.keras', async (name) => {
    const plain = await loadKerasModel(path.join(FIXTURES, 'mlp.keras'));
    const zip64 = await loadKerasModel(path.join(FIXTURES, name));
    try {
      const want = (reference.output as number[]).flat(Infinity) as number[];
      const got = predict(zip64.model);
      expect(Array.from(got)).toEqual(Array.from(predict(plain.model)));
      expect(want.reduce((m, w, i) => Math.max(m, Math.abs(got[i]! - w)), 0)).toBeLessThan(1e-5);
      expect(zip64.format).toBe('keras-v3');
    } finally {
      disposeModel(plain.model);
      disposeModel(zip64.model);
    }
  });
});

describe('a million layers', () => {
  const layers = (n: number): string => Array.from({ length: n }, () => '{"class_name":"Dense","config":{"units":1}}').join(',');

  it('a TF.js model.json with 10^6 layers is refused by the layer limit, not a stack overflow', async () => {
    const dir = path.join(root, 'million');
    mkdirSync(dir);
    const file = path.join(dir, 'model.json');
    writeFileSync(file, `{"format":"layers-model","modelTopology":{"class_name":"Sequential","config":{"name":"s","layers":[${layers(1_000_000)}]}},"weightsManifest":[]}`);
    const before = readFileSync(file);
    const e = await refusedQuickly(() => loadModel(file).then((m) => m.model));
    expect(e).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/model\.json lists more than 10000 layers \(at least 1000000\)/) });
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('nested models count: 101 Sequentials of 100 layers each are refused', async () => {
    const inner = `{"class_name":"Sequential","config":{"name":"n","layers":[${layers(100)}]}}`;
    const config = strToU8(`{"class_name":"Sequential","config":{"name":"s","layers":[${Array(101).fill(inner).join(',')}]}}`);
    const bytes = buildZip([
      { name: 'metadata.json', stored: MLP['metadata.json']! },
      { name: 'config.json', stored: config },
      { name: 'model.weights.h5', stored: MLP['model.weights.h5']! },
    ]);
    const e = await refusedQuickly(() => loadKerasModelFromBytes(bytes, 'nested.keras'));
    expect(e.message).toMatch(/nested\.keras lists more than 10000 layers/);
  });

  it('a Keras config.json with 10^6 layers is refused by the layer limit', async () => {
    const bytes = buildZip([
      { name: 'metadata.json', stored: MLP['metadata.json']! },
      { name: 'config.json', stored: strToU8(`{"class_name":"Sequential","config":{"name":"s","layers":[${layers(1_000_000)}]}}`) },
      { name: 'model.weights.h5', stored: MLP['model.weights.h5']! },
    ]);
    const e = await refusedQuickly(() => loadKerasModelFromBytes(bytes, 'million.keras'), 5000);
    expect(e).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/million\.keras lists more than 10000 layers \(at least 1000000\)/) });
  });
});
