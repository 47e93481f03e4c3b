import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { readImageZip } from '../../src/io/image-zip.js';
import { loadKerasModel, loadKerasWeights } from '../../src/io/keras/load.js';
import { loadOnnxSource } from '../../src/io/onnx/source.js';
import { disposeModel } from '../../src/models/dispose.js';
import { initBrowserBackend } from '../../src/platform/browser/backend.js';
import { predictArrays } from '../../src/platform/browser/predict-arrays.js';
import { hasChromium, noteMissingChromium } from './chromium.js';
import type { ModelRequest, ModelResult } from './library-bytes-page.js';
import { runInPage, serveBundledPage, toBase64, type ServedPage } from './page-harness.js';

/**
 * Issue 18 item 2 (library half): model files a user drops on a page — Keras .keras and .h5 (full
 * models, and weights-only as keras.applications ships them), ONNX — and zips of images, read from
 * bytes in headless Chromium through the browser entry alone. Node then loads the same files with
 * graft's file loaders and must compute the same outputs on the same inputs.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const SHARED = path.resolve(ROOT, '../shared/fixtures/keras');
const hasShared = existsSync(SHARED);
/** Same weights, same TF.js cpu kernels, two JavaScript engines: float32 rounding at most. */
const TOLERANCE = 1e-4;

noteMissingChromium('browser bytes-loading test');
if (!hasShared) console.log(`Keras files written by other tools skipped in the browser bytes test: ${SHARED} not found (the shared fixtures sit beside the repository)`);

type NodeLoad = () => Promise<{ model: tfl.LayersModel; about?: string }>;
interface Case {
  label: string;
  request: Omit<ModelRequest, 'x' | 'sampleShape'>;
  node: NodeLoad;
  /** The sample shape fed, when the model's input does not fix it (ONNX sources: their image shape). */
  sampleShape?: (model: tfl.LayersModel) => number[];
}

const file = (p: string): Uint8Array => new Uint8Array(readFileSync(p));
const keras = (dir: string, name: string): Case => ({
  label: name,
  request: { kind: 'keras', name, bytes: toBase64(file(path.join(dir, name))) },
  node: async () => {
    const k = await loadKerasModel(path.join(dir, name));
    return { model: k.model, about: `${k.format} ${k.kerasVersion}` };
  },
});
const weightsOnto = (weights: string, architecture: string): Case => {
  const dir = path.join(ROOT, 'fixtures/keras');
  return {
    label: `${weights} onto ${architecture}`,
    request: { kind: 'keras-weights', name: weights, bytes: toBase64(file(path.join(dir, weights))), architecture: { name: architecture, bytes: toBase64(file(path.join(dir, architecture))) } },
    node: async () => {
      const { model } = await loadKerasModel(path.join(dir, architecture));
      await loadKerasWeights(model, path.join(dir, weights));
      return { model, about: `weights onto ${architecture}` };
    },
  };
};
const ONNX_FILE = path.join(ROOT, 'fixtures/onnx/convnet.torchscript-op17.keep-bn.onnx');

const CASES: Case[] = [
  ...(hasShared ? ['keras-3.3.3-cnn.keras', 'keras-3.3.3-cnn.h5', 'tf-keras-2.1.6-mlp.h5'].map((n) => keras(SHARED, n)) : []),
  // Written by graft's fixture script with real Keras 3 (fixtures/keras/make_fixtures.py), so these run without ../shared too.
  keras(path.join(ROOT, 'fixtures/keras'), 'functional.keras'),
  // Legacy save_weights layout: what keras.applications' *_no_top.h5 files hold.
  weightsOnto('cnn.legacy-weights.h5', 'cnn.keras'),
  weightsOnto('cnn.weights.h5', 'cnn.h5'),
  {
    label: path.basename(ONNX_FILE),
    request: { kind: 'onnx', name: path.basename(ONNX_FILE), bytes: toBase64(file(ONNX_FILE)), preprocess: 'imagenet' },
    node: async () => {
      const s = await loadOnnxSource(ONNX_FILE, { preprocess: 'imagenet' });
      return { model: s.model, about: JSON.stringify(s.info) };
    },
    sampleShape: (m) => m.inputs[0]!.shape.slice(1) as number[],
  },
];

/** Two samples of `shape`, in 0..1, from a fixed seed. */
function samples(shape: number[], seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: 2 * shape.reduce((a, b) => a * b, 1) }, () => rng.next());
}

describe('model files and image zips from bytes in headless Chromium', () => {
  let served: ServedPage | undefined;

  beforeAll(async () => {
    if (hasChromium) served = await serveBundledPage(path.join(ROOT, 'test/browser/library-bytes-page.ts'));
  });
  afterAll(async () => {
    await served?.close();
  });

  it.skipIf(!hasChromium)('loads .keras, .h5 (full and weights-only) and .onnx bytes, predicts as Node does on the same files; reads an image zip as Node does', async () => {
    await initBrowserBackend({ backend: 'cpu' });
    // Node first: what each model computes, and the inputs it takes.
    const expected: Array<{ request: ModelRequest; outputs: Float32Array; about: string | undefined }> = [];
    for (const [i, c] of CASES.entries()) {
      const { model, about } = await c.node();
      try {
        const sampleShape = c.sampleShape?.(model) ?? (model.inputs[0]!.shape.slice(1) as number[]);
        const x = samples(sampleShape, 100 + i);
        expected.push({ request: { ...c.request, x, sampleShape }, outputs: predictArrays(model, Float32Array.from(x), sampleShape), about });
      } finally {
        disposeModel(model);
      }
    }
    const zip = zipSync({
      'pets/cat/1.png': new Uint8Array(10).fill(1),
      'pets/cat/2.jpg': new Uint8Array(20).fill(2),
      'pets/dog/1.webp': new Uint8Array(30).fill(3),
      '__MACOSX/pets/cat/._1.png': new Uint8Array(5),
      'pets/.DS_Store': new Uint8Array(5),
    });
    const external = file(path.join(ROOT, 'test/io/onnx/fixtures/mlp.onnx'));

    const run = await runInPage(served!.origin, async (page) => {
      const models: ModelResult[] = [];
      for (const e of expected) {
        models.push(await page.evaluate((req) => (globalThis as unknown as { page: typeof import('./library-bytes-page.js') }).page.predictFromBytes(req), e.request));
      }
      const zipped = await page.evaluate(([b, n]) => (globalThis as unknown as { page: typeof import('./library-bytes-page.js') }).page.readZip(b, n), [toBase64(zip), 'pets.zip'] as const);
      const damaged = await page.evaluate(([b, n]) => (globalThis as unknown as { page: typeof import('./library-bytes-page.js') }).page.readZip(b, n), [toBase64(zip.subarray(0, zip.length - 30)), 'cut.zip'] as const);
      const refusal = await page.evaluate(([b, n]) => (globalThis as unknown as { page: typeof import('./library-bytes-page.js') }).page.onnxRefusal(b, n), [toBase64(external), 'mlp.onnx'] as const);
      return { models, zipped, damaged, refusal };
    });
    expect(run.errors).toEqual([]);
    expect(run.foreign).toEqual([]);

    for (const [i, e] of expected.entries()) {
      const page = run.result.models[i]!;
      const label = CASES[i]!.label;
      expect(page.backend, label).toMatch(/^cpu/);
      expect(page.about, label).toBe(e.about);
      expect(page.outputs.length, label).toBe(e.outputs.length);
      let worst = 0;
      let scale = 0;
      e.outputs.forEach((v, j) => {
        worst = Math.max(worst, Math.abs(v - page.outputs[j]!));
        scale = Math.max(scale, Math.abs(v));
      });
      console.log(`${label}: ${e.outputs.length} outputs, largest page-vs-Node difference ${worst.toExponential(2)} (largest value ${scale.toFixed(3)})`);
      expect(worst / Math.max(1, scale), label).toBeLessThanOrEqual(TOLERANCE);
    }

    const node = readImageZip(zip, 'pets.zip');
    expect(run.result.zipped).toEqual({ classes: node.classes.map((c) => ({ name: c.name, files: c.files.map((f) => [f.name, f.bytes.length]) })), skipped: node.skipped });
    expect(run.result.zipped).toMatchObject({ classes: [{ name: 'cat' }, { name: 'dog' }] });
    expect(run.result.damaged).toEqual({ error: expect.stringContaining('cut.zip: the zip archive is damaged'), graft: true });
    expect(run.result.refusal).toEqual({ code: 'BAD_ARGUMENT', message: expect.stringContaining('mlp.onnx: ') });
    expect(run.result.refusal.message).toContain('Re-export the model with the weights inside the .onnx file');
  });
});
