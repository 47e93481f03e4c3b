import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { copyWeightsByName } from '../../src/io/copy-weights.js';
import { buildMobileNetV2 } from '../../src/models/mobilenetv2.js';
import { disposeModel } from '../../src/models/dispose.js';
import { loadTfjsModelFromFiles } from '../../src/platform/browser/model-files.js';
import { Rng } from '../../src/engine/rng.js';
import * as nodeRuntime from '../../src/engine/onnx/runtime.js';
import { initBrowserBackend } from '../../src/platform/browser/backend.js';
import { BROWSER_ONNX_REASON } from '../../src/platform/browser/onnx-runtime.js';
import { MAX_PAGE_THREADS } from '../../src/platform/browser/onnx-web.js';
import { blobImages } from './blob-data.js';
import { hasChromium, launchChromium, noteMissingChromium } from './chromium.js';
import { decodeFloats, encodeFloats, extractFeatures, trainModel, type FeatureRequest, type FeatureResult, type TrainRequest, type TrainResult } from './onnx-web-page.js';
import { servePage, type PageServer } from './onnx-web-server.js';

/**
 * graft's training compiler and feature extraction on onnxruntime-web in headless Chromium, with
 * and without wasm threads (a cross-origin isolated page), on the main thread and in a dedicated
 * worker. The page runs onnx-web-page.ts bundled for the browser; Node runs the same file on
 * onnxruntime-node from the page's initial weights, and the two must agree.
 */

/**
 * Same graph, same onnxruntime version (1.30), two builds (wasm SIMD vs native x64, different
 * reduction orders, and a different thread split): measured largest weight difference after 18
 * Adam steps 2.2e-7, threads or not (see the log line); 1e-4 is Node's own cross-engine tolerance.
 */
const WEIGHT_TOLERANCE = 1e-4;
/** Features: relative to the largest feature magnitude (6, ReLU6), float32 rounding through 50 layers; measured 3.2e-5 / 6 ≈ 5e-6. */
const FEATURE_TOLERANCE = 1e-4;

noteMissingChromium('onnxruntime-web test');
/** Teachable Machine's MobileNetV2 α 0.35 (ImageNet weights): seeded random weights give features near 0 at out_relu. */
const TM = path.resolve(import.meta.dirname, '../../../shared/fixtures/teachable-machine');
const hasTm = existsSync(path.join(TM, 'model.json'));
if (!hasTm) console.log(`onnxruntime-web feature checks skipped: ${TM} not found (the shared Teachable Machine fixture)`);
const FEATURE_SIDE = 96;

/** The fixture's MobileNetV2 weights on graft's MobileNetV2 at FEATURE_SIDE², in getWeights() order. */
async function imagenetWeights(): Promise<string[]> {
  const loaded = await loadTfjsModelFromFiles({ 'model.json': await readFile(path.join(TM, 'model.json'), 'utf8'), 'weights.bin': new Uint8Array(await readFile(path.join(TM, 'weights.bin'))) }, 'teachable machine');
  const base = buildMobileNetV2({ alpha: 0.35, inputShape: [FEATURE_SIDE, FEATURE_SIDE, 3] });
  try {
    copyWeightsByName(loaded, base, 'teachable machine');
    return base.getWeights().map((w) => encodeFloats(w.dataSync() as Float32Array));
  } finally {
    disposeModel(base);
    disposeModel(loaded);
  }
}

const cnnRequest = (engine: TrainRequest['engine']): TrainRequest => {
  const d = blobImages([[2, 2], [2, 5], [5, 2]], 32, 3, 12);
  return { model: 'cnn', engine, x: d.x, y: d.y, sampleShape: [12, 12, 1], classes: 3, epochs: 3, batchSize: 16, seed: 5 };
};

/** Noise images in MobileNetV2's input range [−1, 1]. */
function featureRequest(engine: FeatureRequest['engine'], initial: string[]): FeatureRequest {
  const n = 12;
  const side = FEATURE_SIDE;
  const rng = new Rng(9);
  return { engine, side, n, batch: 8, seed: 1, initial, x: encodeFloats(new Float32Array(n * side * side * 3).map(() => 2 * rng.next() - 1)) };
}

/** Largest |a − b| over all weights, and where. */
function largestDifference(a: readonly string[], b: readonly string[]): { worst: number; at: string } {
  let worst = 0;
  let at = '';
  a.forEach((s, w) => {
    const x = decodeFloats(s);
    const y = decodeFloats(b[w]!);
    expect(y.length).toBe(x.length);
    x.forEach((v, i) => {
      const d = Math.abs(v - y[i]!);
      if (d > worst || Number.isNaN(d)) [worst, at] = [Number.isNaN(d) ? Infinity : d, `weight ${w} element ${i}: ${v} vs ${y[i]}`];
    });
  });
  return { worst, at };
}

/** Page and Node features equal within FEATURE_TOLERANCE of the largest feature, which must be far from 0. */
function expectSameFeatures(web: FeatureResult, node: FeatureResult, what: string): void {
  const a = decodeFloats(web.features);
  const b = decodeFloats(node.features);
  expect(a.length).toBe(b.length);
  const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  let worst = 0;
  let at = -1;
  a.forEach((v, i) => {
    const d = Math.abs(v - b[i]!);
    if (!(d <= worst)) [worst, at] = [Number.isNaN(d) ? Infinity : d, i];
  });
  console.log(`${what}: features of ${a.length} values, largest page-vs-Node difference ${worst.toExponential(2)} (largest feature ${scale.toFixed(3)})`);
  expect(scale).toBeGreaterThan(0.1);
  expect(worst, `element ${at}: page ${a[at]}, Node ${b[at]}`).toBeLessThanOrEqual(FEATURE_TOLERANCE * scale);
}

type PageInfo = { onnx: string; description: string; isolated: boolean; cores: number };

async function openPage(browser: Browser, server: PageServer, errors: string[]): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(`${server.origin}/`);
  await page.waitForFunction(() => 'page' in globalThis, undefined, { timeout: 60_000 });
  return page;
}

type PageModule = typeof import('./onnx-web-page.js');

/** initBrowserBackend in the page (TF.js cpu: onnxruntime-web does the work here), then whether it is isolated. */
function initPage(page: Page, onnxWasmPaths: string): Promise<PageInfo> {
  return page.evaluate(async (paths) => {
    const p = (globalThis as unknown as { page: PageModule }).page;
    const b = await p.initBrowserBackend({ backend: 'cpu', onnxWasmPaths: paths });
    const g = globalThis as unknown as { crossOriginIsolated: boolean; navigator: { hardwareConcurrency: number } };
    return { onnx: b.onnx, description: b.description, isolated: g.crossOriginIsolated, cores: g.navigator.hardwareConcurrency };
  }, onnxWasmPaths);
}

const trainInPage = (page: Page, r: TrainRequest): Promise<TrainResult> =>
  page.evaluate((req) => (globalThis as unknown as { page: PageModule }).page.trainModel(req), r);

const featuresInPage = (page: Page, r: FeatureRequest): Promise<FeatureResult> =>
  page.evaluate((req) => (globalThis as unknown as { page: PageModule }).page.extractFeatures(req), r);

/** The same calls inside a dedicated worker the page starts (worker.js imports the page bundle). */
function inWorker(page: Page, calls: Array<{ call: string; args: unknown[] }>): Promise<unknown[]> {
  return page.evaluate(async (list) => {
    // The root tsconfig has no DOM types: the little of Worker used here.
    interface PageWorker {
      postMessage(m: unknown): void;
      terminate(): void;
      addEventListener(type: 'message', f: (e: { data: unknown }) => void, o: { once: boolean }): void;
    }
    const { Worker } = globalThis as unknown as { Worker: new (url: string, o: { type: 'module' }) => PageWorker };
    const worker = new Worker('/worker.js', { type: 'module' });
    const next = (): Promise<{ ok?: unknown; error?: string; ready?: boolean }> => new Promise((resolve) => worker.addEventListener('message', (e) => resolve(e.data as never), { once: true }));
    await next();
    const out: unknown[] = [];
    try {
      for (const c of list) {
        const reply = next();
        worker.postMessage(c);
        const r = await reply;
        if (r.error !== undefined) throw new Error(`in the worker: ${r.error}`);
        out.push(r.ok);
      }
    } finally {
      worker.terminate();
    }
    return out;
  }, calls);
}

/** Node: the same training on onnxruntime-node from the page's initial weights. */
async function trainInNode(r: TrainRequest, initial: string[]): Promise<TrainResult> {
  return trainModel({ ...r, initial });
}

describe.skipIf(!hasChromium)('graft on onnxruntime-web in headless Chromium', () => {
  let browser: Browser;
  const servers: Record<'plain' | 'isolated', PageServer | undefined> = { plain: undefined, isolated: undefined };

  beforeAll(async () => {
    // Node's side must be onnxruntime-node (vitest must not have taken the browser stand-in).
    expect('BROWSER_ONNX_REASON' in nodeRuntime).toBe(false);
    expect(typeof (await nodeRuntime.loadOnnxRuntime())).not.toBe('string');
    await initBrowserBackend({ backend: 'cpu' });
    [servers.plain, servers.isolated] = await Promise.all([servePage({ isolated: false }), servePage({ isolated: true })]);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(Object.values(servers).map((s) => s?.close()));
  });

  it('trains a small CNN with engine onnxruntime on onnxruntime-web (1 thread, not isolated) to the weights onnxruntime-node reaches', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, servers.plain!, errors);
    const info = await initPage(page, '/ort/');
    expect(info.isolated).toBe(false);
    expect(info.onnx).toMatch(/^onnxruntime-web wasm, 1 thread, files from http:\/\/127\.0\.0\.1:\d+\/ort\/$/);
    const r = cnnRequest('onnxruntime');
    const web = await trainInPage(page, r);
    await page.close();
    expect(errors).toEqual([]);
    expect(web.engine).toEqual({ engine: 'onnxruntime' });
    const node = await trainInNode(r, web.initial);
    expect(node.engine).toEqual({ engine: 'onnxruntime' });
    const moved = largestDifference(web.initial, web.trained);
    const { worst, at } = largestDifference(web.trained, node.trained);
    console.log(`onnxruntime-web (1 thread) vs onnxruntime-node after ${web.steps} steps: largest weight difference ${worst.toExponential(2)} (weights moved up to ${moved.worst.toFixed(3)}); page ${web.seconds.toFixed(2)} s`);
    // Training happened: far more movement than the tolerance.
    expect(moved.worst).toBeGreaterThan(100 * WEIGHT_TOLERANCE);
    expect(worst, at).toBeLessThanOrEqual(WEIGHT_TOLERANCE);
  });

  it.skipIf(!hasTm)('extracts MobileNetV2 α 0.35 features (ImageNet weights) on onnxruntime-web as onnxruntime-node does', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, servers.plain!, errors);
    await initPage(page, '/ort/');
    const req = featureRequest('auto', await imagenetWeights());
    const web = await featuresInPage(page, req);
    await page.close();
    expect(errors).toEqual([]);
    expect(web.engine, web.reason).toBe('onnxruntime');
    const node = await extractFeatures(req);
    expect(node.engine).toBe('onnxruntime');
    expectSameFeatures(web, node, 'page (1 thread)');
  });

  it('runs with wasm threads in a cross-origin isolated page, and in a dedicated worker there, to the same weights and features', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, servers.isolated!, errors);
    const info = await initPage(page, '/ort/');
    expect(info.isolated).toBe(true);
    const threads = Math.min(info.cores, MAX_PAGE_THREADS);
    expect(info.onnx).toContain(`wasm, ${threads} thread${threads === 1 ? '' : 's'},`);
    const req = hasTm ? featureRequest('onnxruntime', await imagenetWeights()) : undefined;
    const features = req && (await featuresInPage(page, req));
    const r = cnnRequest('onnxruntime');
    const [workerInfo, web] = (await inWorker(page, [
      { call: 'initBrowserBackend', args: [{ backend: 'cpu', onnxWasmPaths: '/ort/' }] },
      { call: 'trainModel', args: [r] },
    ])) as [{ onnx: string }, TrainResult];
    await page.close();
    expect(errors).toEqual([]);
    expect(workerInfo.onnx).toBe(info.onnx);
    expect(web.engine).toEqual({ engine: 'onnxruntime' });
    const node = await trainInNode(r, web.initial);
    const { worst, at } = largestDifference(web.trained, node.trained);
    console.log(`isolated page, ${threads} thread(s): worker training vs Node ${worst.toExponential(2)}`);
    expect(worst, at).toBeLessThanOrEqual(WEIGHT_TOLERANCE);
    if (req && features) {
      expect(features.engine, features.reason).toBe('onnxruntime');
      expectSameFeatures(features, await extractFeatures(req), `isolated page, ${threads} thread(s)`);
    }
  });

  it('trains on TF.js with the reason when onnxruntime-web\'s files are not served, and refuses engine onnxruntime', async () => {
    const page = await openPage(browser, servers.plain!, []);
    await initPage(page, '/missing/');
    const auto = await trainInPage(page, cnnRequest('auto'));
    const insisted = await page.evaluate(async (req) => {
      try {
        await (globalThis as unknown as { page: PageModule }).page.trainModel(req);
        return 'trained';
      } catch (e) {
        return `${(e as { code?: string }).code}: ${(e as Error).message}`;
      }
    }, cnnRequest('onnxruntime'));
    await page.close();
    expect(auto.engine?.engine).toBe('tfjs');
    expect(auto.engine?.reason).toContain(BROWSER_ONNX_REASON);
    expect(auto.engine?.reason).toContain('/missing/');
    expect(insisted).toMatch(/^BACKEND_UNAVAILABLE: The onnxruntime engine cannot train/);
  });
});
