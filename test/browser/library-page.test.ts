import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBrowserBackend } from '../../src/platform/browser/backend.js';
import { loadTfjsModelFromFiles } from '../../src/platform/browser/model-files.js';
import { predictArrays } from '../../src/platform/browser/predict-arrays.js';
import { evaluate } from '../../src/evaluate/evaluate.js';
import { disposeModel } from '../../src/models/dispose.js';
import { blobImages, type BlobArrays } from './blob-data.js';
import { bundleForBrowser, describeReaches } from './bundle-check.js';
import { hasChromium, noteMissingChromium } from './chromium.js';
import { runInPage } from './page-harness.js';
import { readmeBrowserExample } from './readme-example.js';

/**
 * README's browser example, as written there, in headless Chromium: the page loads the browser
 * bundle through an import map ('graft-learn/browser'), trains a source model and a transferred one
 * on arrays, and returns the target's test accuracy, its probabilities and its TF.js files. Node
 * then loads those files with the same code and must predict the same probabilities.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
/** Two separable classes (chance 0.5): a model that did not learn stays far below. */
const ACCURACY_FLOOR = 0.9;
/** Same weights, same cpu kernels, two JavaScript engines: float32 rounding at most. */
const PREDICTION_TOLERANCE = 1e-5;

noteMissingChromium('browser library test');

interface PageResult {
  backend: string;
  engines: Array<string | undefined>;
  accuracy: number;
  probabilities: number[];
  tfjs: { 'model.json': string; 'weights.bin': number[] };
  onnxBytes: number;
  kerasBytes: number;
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>graft library</title><link rel="icon" href="data:,">
<script type="importmap">{"imports":{"graft-learn/browser":"/graft-browser.js"}}</script>
<script type="module">window.graft = await import('graft-learn/browser'); window.example = await import('/example.js');</script>`;
const WASM_DIR = path.join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');

describe('the library in headless Chromium', () => {
  let server: Server | undefined;
  let origin = '';

  beforeAll(async () => {
    if (!hasChromium) return;
    const bundle = await bundleForBrowser(path.join(ROOT, 'src/browser.ts'));
    expect(describeReaches(bundle.reached)).toBe('');
    const example = await esbuild.transform(await readmeBrowserExample(ROOT), { loader: 'ts', format: 'esm' });
    const files: Record<string, { type: string; body: string | Buffer }> = {
      '/': { type: 'text/html', body: PAGE },
      '/graft-browser.js': { type: 'text/javascript', body: bundle.code },
      '/example.js': { type: 'text/javascript', body: example.code },
    };
    for (const name of (await readdir(WASM_DIR)).filter((f) => f.endsWith('.wasm'))) {
      files[`/wasm/${name}`] = { type: 'application/wasm', body: await readFile(path.join(WASM_DIR, name)) };
    }
    // onnxruntime-web's files next to the bundle, where graft looks for them by default.
    for (const name of ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']) {
      files[`/${name}`] = { type: name.endsWith('.mjs') ? 'text/javascript' : 'application/wasm', body: await readFile(path.join(ROOT, 'node_modules/onnxruntime-web/dist', name)) };
    }
    server = createServer((req, res) => {
      const file = files[req.url ?? ''];
      res.writeHead(file ? 200 : 404, { 'content-type': file?.type ?? 'text/plain' });
      res.end(file?.body ?? 'not found');
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  });

  it.skipIf(!hasChromium)("runs README's example: transfer trains, scores above the floor, and predicts as Node does on the same weights", async () => {
    // Source: three blob positions; target: two new ones (a different task on the same pixels).
    const source = blobImages([[2, 2], [2, 5], [5, 2]], 100, 11);
    const targetTrain = blobImages([[6, 6], [1, 6]], 100, 12);
    const targetTest = blobImages([[6, 6], [1, 6]], 100, 13);

    const { result, errors, foreign } = await runInPage(
      origin,
      (page) =>
        page.evaluate(
        async ({ source, targetTrain, targetTest }) => {
          type Arrays = typeof source;
          interface Example {
            datasetFromArrays(x: Float32Array, y: Int32Array, shape: number[], names: string[]): unknown;
            transferInPage(source: unknown, target: { train: unknown; test: unknown }): Promise<Record<string, unknown> & { probabilities: Float32Array; tfjs: { 'model.json': string; 'weights.bin': Uint8Array } }>;
          }
          const ex = (globalThis as unknown as { example: Example }).example;
          const ds = (a: Arrays) => ex.datasetFromArrays(Float32Array.from(a.x), Int32Array.from(a.y), a.sampleShape, a.classNames);
          const r = await ex.transferInPage(ds(source), { train: ds(targetTrain), test: ds(targetTest) });
          // Typed arrays become plain arrays to cross back to Node.
          return { ...r, probabilities: Array.from(r.probabilities), tfjs: { 'model.json': r.tfjs['model.json'], 'weights.bin': Array.from(r.tfjs['weights.bin']) } };
        },
        { source, targetTrain, targetTest },
      ) as Promise<PageResult>,
      'example',
    );
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    expect(result.backend).toMatch(/^cpu/);
    // Frozen then unfrozen, both on graft's training compiler (onnxruntime-web in the page).
    expect(result.engines).toEqual(['onnxruntime', 'onnxruntime']);
    expect(result.onnxBytes).toBeGreaterThan(0);
    expect(result.kerasBytes).toBeGreaterThan(0);
    expect(result.accuracy).toBeGreaterThan(ACCURACY_FLOOR);
    console.log(`page: ${result.backend}; target test accuracy ${result.accuracy.toFixed(4)} on ${targetTest.y.length} images`);

    // Node: the same code (browser entry's loader and predictArrays) on the page's weights.
    await initBrowserBackend({ backend: 'cpu' });
    const tensorsBefore = tf.memory().numTensors;
    const model = await loadTfjsModelFromFiles({ 'model.json': result.tfjs['model.json'], 'weights.bin': Uint8Array.from(result.tfjs['weights.bin']) });
    try {
      const x = Float32Array.from(targetTest.x);
      const node = predictArrays(model, x, targetTest.sampleShape);
      expect(node.length).toBe(result.probabilities.length);
      let worst = 0;
      let at = -1;
      node.forEach((p, i) => {
        const d = Math.abs(p - result.probabilities[i]!);
        if (d > worst) [worst, at] = [d, i];
      });
      console.log(`largest page-vs-Node probability difference: ${worst.toExponential(2)} (element ${at})`);
      expect(worst, `element ${at}: page ${result.probabilities[at]}, Node ${node[at]}`).toBeLessThanOrEqual(PREDICTION_TOLERANCE);
      expect(evaluate(model, datasetOf(targetTest)).accuracy).toBe(result.accuracy);
    } finally {
      disposeModel(model);
    }
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
  it.skipIf(!hasChromium)("trains on TF.js's wasm backend when the page asks for TF.js and serves its .wasm files, and predicts as Node does", async () => {
    const data = blobImages([[2, 2], [2, 5], [5, 2]], 60, 21);
    type WasmResult = { backend: string; engine: string | undefined; accuracy: number; probabilities: number[]; tfjs: { 'model.json': string; 'weights.bin': number[] } };
    const { result, errors, foreign } = await runInPage(origin, (page) => page.evaluate(async (a): Promise<WasmResult> => {
        const g = (globalThis as unknown as { graft: typeof import('../../src/browser.js') }).graft;
        const backend = await g.initBrowserBackend({ backend: 'wasm', wasmPaths: '/wasm/' });
        const ds = { x: Float32Array.from(a.x), y: Int32Array.from(a.y), sampleShape: a.sampleShape, classNames: a.classNames, pixelRange: 'unit' as const, source: 'blobs' };
        const model = g.buildMlp({ inputShape: ds.sampleShape, classes: 3, hidden: 16, seed: 4 });
        const fitted = await g.fit(model, ds, { epochs: 4, optimizer: { name: 'adam', learningRate: 0.01 }, seed: 4, engine: 'tfjs' });
        const files = await g.toTfjsFiles(model, 'wasm page');
        return { backend: backend.description, engine: fitted.engine?.engine, accuracy: g.evaluate(model, ds).accuracy, probabilities: Array.from(g.predictArrays(model, ds.x, ds.sampleShape)), tfjs: { 'model.json': files['model.json'], 'weights.bin': Array.from(files['weights.bin']) } };
      }, data), 'example');
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    expect(result.backend).toMatch(/^wasm/);
    expect(result.engine).toBe('tfjs');
    expect(result.accuracy).toBeGreaterThan(ACCURACY_FLOOR);
    console.log(`page: ${result.backend}; training accuracy ${result.accuracy.toFixed(4)}`);
    // Node on cpu, the page on wasm: different kernels, so equal to float32 rounding, not bit for bit.
    await initBrowserBackend({ backend: 'cpu' });
    const model = await loadTfjsModelFromFiles({ 'model.json': result.tfjs['model.json'], 'weights.bin': Uint8Array.from(result.tfjs['weights.bin']) });
    try {
      const node = predictArrays(model, Float32Array.from(data.x), data.sampleShape);
      const worst = node.reduce((w, p, i) => Math.max(w, Math.abs(p - result.probabilities[i]!)), 0);
      console.log(`wasm page vs Node cpu, largest probability difference: ${worst.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(PREDICTION_TOLERANCE);
    } finally {
      disposeModel(model);
    }
  });
});

function datasetOf(a: BlobArrays) {
  return { x: Float32Array.from(a.x), y: Int32Array.from(a.y), sampleShape: a.sampleShape, classNames: a.classNames, pixelRange: 'unit' as const, source: 'blobs' };
}
