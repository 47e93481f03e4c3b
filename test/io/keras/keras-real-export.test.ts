import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../../src/engine/rng.js';
import { exportModel } from '../../../src/io/export-model.js';
import { loadKerasModel } from '../../../src/io/keras/load.js';
import { buildMlp } from '../../../src/models/mlp.js';
import { buildSmallCnn } from '../../../src/models/small-cnn.js';
import { transfer } from '../../../src/transfer/transfer.js';
import { useBackend } from '../../helpers.js';

/**
 * graft's .keras export, loaded by real Keras: graft's own reader accepting its own files proves
 * nothing about Keras. Needs a Python with Keras 3 (GRAFT_KERAS_PYTHON; `.ci/run` makes one from
 * the machine's local wheel index); without one it is skipped, saying so.
 */
const PYTHON = process.env.GRAFT_KERAS_PYTHON ?? '/tmp/peers/bin/python';
const probe = existsSync(PYTHON) ? spawnSync(PYTHON, ['-c', 'import keras; print(keras.__version__)'], { encoding: 'utf8', timeout: 180_000, env: { ...process.env, KERAS_BACKEND: 'tensorflow' } }) : undefined;
const kerasVersion = probe?.status === 0 ? probe.stdout.trim() : undefined;
const skipReason =
  probe === undefined
    ? `no Python at ${PYTHON} (set GRAFT_KERAS_PYTHON to a Python with Keras 3; .ci/run makes one when /opt/pypi/simple exists)`
    : kerasVersion === undefined
      ? `${PYTHON} cannot import keras: ${(probe.stderr || String(probe.error)).trim().split('\n').pop()}`
      : !kerasVersion.startsWith('3.')
        ? `${PYTHON} has Keras ${kerasVersion}, not Keras 3`
        : undefined;
if (skipReason) console.log(`skipping the real-Keras .keras round trip: ${skipReason}`);

const FIXTURES = path.resolve(__dirname, '../../../fixtures/keras');
const SCRIPT = path.resolve(__dirname, 'keras_predict.py');
const dir = mkdtempSync(path.join(tmpdir(), 'graft-keras-real-'));

beforeAll(useBackend);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Seeded values for every weight (non-zero biases, BatchNorm statistics off 0 and 1), so a swapped or dropped weight shows in the output. */
function scramble(model: tfl.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  for (const w of model.weights) {
    const n = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
    const variance = /moving_variance|gamma/.test(w.originalName);
    const values = Float32Array.from({ length: n }, () => (variance ? 0.5 + rng.next() : (rng.next() - 0.5) * 0.6));
    const t = tf.tensor(values, w.shape as number[]);
    w.write(t);
    t.dispose();
  }
}

/** Inputs on a 1/256 grid (exact in float32), seeded. */
function inputs(shape: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.floor(rng.next() * 256) / 256);
}

function predict(model: tfl.LayersModel, x: Float32Array, shape: number[]): Float32Array {
  return tf.tidy(() => Float32Array.from((model.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync() as Float32Array));
}

interface Case { name: string; file: string; input_shape: number[]; input: number[]; expected: Float32Array; params: number }
interface KerasOutput { output: number[]; output_shape: number[]; params: number; keras_version: string }

/** Runs every case through Keras in one Python process (its start-up costs seconds). */
function kerasPredict(cases: Case[]): KerasOutput[] {
  const casesFile = path.join(dir, 'cases.json');
  const outFile = path.join(dir, 'out.json');
  writeFileSync(casesFile, JSON.stringify(cases.map(({ file, input_shape, input }) => ({ file, input_shape, input }))));
  const r = spawnSync(PYTHON, [SCRIPT, casesFile, outFile], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, KERAS_BACKEND: 'tensorflow', TF_CPP_MIN_LOG_LEVEL: '2' } });
  expect(r.status, `Keras failed to load graft's export:\n${r.stderr}`).toBe(0);
  return JSON.parse(readFileSync(outFile, 'utf8')) as KerasOutput[];
}

function expectClose(name: string, got: number[], want: Float32Array, tolerance: number): void {
  expect(got.length, `${name}: output size`).toBe(want.length);
  let worst = 0;
  let at = 0;
  got.forEach((g, i) => {
    const d = Math.abs(g - want[i]!);
    if (!(d <= worst)) [worst, at] = [d, i];
  });
  expect(worst, `${name}: Keras ${got[at]} vs expected ${want[at]} at element ${at}`).toBeLessThanOrEqual(tolerance);
}

describe.skipIf(skipReason !== undefined)(`graft's .keras export in real Keras ${kerasVersion ?? ''}`, () => {
  it('predicts as graft does (within 1e-5) for a Model B-like MLP, a small CNN with BatchNorm, and Keras-written models passed through graft', async () => {
    const cases: Case[] = [];
    const add = async (name: string, model: tfl.LayersModel, shape: number[], expected?: Float32Array): Promise<void> => {
      const file = path.join(dir, `${name}.keras`);
      await exportModel(model, file);
      const x = inputs(shape, cases.length + 1);
      cases.push({ name, file, input_shape: shape, input: Array.from(x), expected: expected ?? predict(model, x, shape), params: model.countParams() });
    };

    // Model B: Model A's layers (Flatten → Dense 128 relu → Dropout) with a new sigmoid head.
    const modelA = buildMlp({ classes: 8, seed: 1 });
    const modelB = await transfer(modelA, { head: { classes: 2 }, seed: 2 });
    scramble(modelB.model, 3);
    await add('model_b', modelB.model, [4, 28, 28]);
    modelA.dispose();
    modelB.model.dispose();

    const cnn = buildSmallCnn({ classes: 4, inputShape: [8, 8, 1], filters: [4, 6], dense: 10, seed: 4 });
    scramble(cnn, 5);
    await add('small_cnn', cnn, [4, 8, 8, 1]);
    cnn.dispose();

    // Keras → graft → Keras: Keras must reproduce its own recorded outputs from graft's re-export.
    for (const name of ['cnn', 'functional']) {
      const ref = JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as { input_shape: number[]; input: unknown[]; output: unknown[] };
      const { model } = await loadKerasModel(path.join(FIXTURES, `${name}.keras`));
      const file = path.join(dir, `keras_${name}.keras`);
      await exportModel(model, file);
      cases.push({ name: `keras_${name}`, file, input_shape: ref.input_shape, input: (ref.input as number[]).flat(Infinity) as number[], expected: Float32Array.from((ref.output as number[]).flat(Infinity) as number[]), params: model.countParams() });
      model.dispose();
    }

    const results = kerasPredict(cases);
    expect(results).toHaveLength(cases.length);
    cases.forEach((c, i) => {
      const k = results[i]!;
      expect(k.params, `${c.name}: parameters Keras counts`).toBe(c.params);
      expectClose(c.name, k.output, c.expected, 1e-5);
    });
  }, 600_000);
});
