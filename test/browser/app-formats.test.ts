import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveApp, type AppServer } from '../../src/app-server/serve.js';
import { toOnnxBytes } from '../../src/io/export-onnx.js';
import { disposeModel } from '../../src/models/dispose.js';
import { buildSmallCnn } from '../../src/models/small-cnn.js';
import { zooEntry } from '../../src/models/zoo.js';
import { initBrowserBackend } from '../../src/platform/browser/backend.js';
import { hasChromium, launchChromium, noteMissingChromium } from './chromium.js';
import { serveWeightsMirror, TM, tmKerasArchive, tmWeightsH5, zipOf } from './app-fixtures.js';

/**
 * The app's sources and image zips in headless Chromium, up to the split (training is app.test.ts's):
 * a .keras MobileNetV2 with a zip of class folders, an unsupported file's message, the built-in
 * source through a local stand-in for Keras's weight host and without it, cross-origin isolation.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const CIFAR_TREE = '/tmp/photos-src/cifar10/train';
const PER_CLASS = 6;
/** A Keras model of grey 28×28 images, saved as a full-model .h5 by Keras 3.3.3 (../shared/fixtures/SOURCES.md). */
const GREY_H5 = path.resolve(ROOT, '../shared/fixtures/keras/keras-3.3.3-cnn.h5');
const hasTm = existsSync(path.join(TM, 'model.json'));
const hasCifar = existsSync(path.join(CIFAR_TREE, 'cat'));
noteMissingChromium('app formats test');
if (!hasTm) console.log(`app formats test skipped: no Teachable Machine fixture at ${TM}`);
if (!hasCifar) console.log(`app formats test skipped: no CIFAR-10 photos at ${CIFAR_TREE}`);
const ready = hasChromium && hasTm && hasCifar;

describe('the web app: model files, zips, the built-in source', () => {
  let work = '';
  let server: AppServer | undefined;
  let mirror: Awaited<ReturnType<typeof serveWeightsMirror>> | undefined;
  let browser: Browser | undefined;
  /** The file the built-in route asks for at input 96; the mirror holds only this one. */
  const file96 = zooEntry({ name: 'mobilenetv2', alpha: 0.35 }, 96).file;

  beforeAll(async () => {
    if (!ready) return;
    work = await mkdtemp(path.join(tmpdir(), 'graft-app-formats-'));
    // A build of its own: app.test.ts rebuilds dist/app, and the two may run at once.
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'app/build.mjs'), path.join(work, 'app')]);
    await initBrowserBackend({ backend: 'cpu' });
    const weights = await tmWeightsH5();
    await writeFile(path.join(work, 'mobilenet.keras'), await tmKerasArchive(64));
    await writeFile(path.join(work, 'notes.txt'), 'not a model');
    const cnn = buildSmallCnn({ inputShape: [24, 24, 3], filters: [4, 8], dense: 16, classes: 3, seed: 1 });
    await writeFile(path.join(work, 'cnn.onnx'), toOnnxBytes(cnn));
    disposeModel(cnn);
    const entries: Record<string, Uint8Array> = {};
    for (const c of ['cat', 'dog']) {
      const names = (await readdir(path.join(CIFAR_TREE, c))).filter((n) => n.endsWith('.jpg')).sort().slice(0, PER_CLASS);
      for (const n of names) entries[`pets/${c}/${n}`] = new Uint8Array(await readFile(path.join(CIFAR_TREE, c, n)));
    }
    entries['pets/dog/README.txt'] = new TextEncoder().encode('not an image');
    await writeFile(path.join(work, 'pets.zip'), zipOf(entries));
    mirror = await serveWeightsMirror(file96, weights);
    server = await serveApp({ root: path.join(work, 'app'), port: 0, weights: { cacheDir: path.join(work, 'cache'), kerasCache: false, mirror: mirror.url } });
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await mirror?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A fresh page; requests to any origin but the app's are collected in `foreign`. */
  async function open(settings: Record<string, string>): Promise<{ page: Page; foreign: string[] }> {
    const page = await browser!.newPage();
    const foreign: string[] = [];
    const origin = server!.url.replace(/\/$/, '');
    page.on('request', (r) => !r.url().startsWith(origin) && !/^(blob|data):/.test(r.url()) && foreign.push(r.url()));
    await page.goto(server!.url);
    await page.locator('details').evaluate((d) => {
      (d as unknown as { open: boolean }).open = true;
    });
    for (const [id, value] of Object.entries(settings)) await page.fill(`#${id}`, value);
    return { page, foreign };
  }

  const classNames = (page: Page): Promise<string[]> => page.locator('.class-name').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));

  it.skipIf(!ready)('is cross-origin isolated (COOP + COEP from graft app)', async () => {
    const { page } = await open({});
    expect(await page.evaluate('crossOriginIsolated')).toBe(true);
    await page.close();
  });

  it.skipIf(!ready)('takes a .keras MobileNetV2 and one zip of class folders to a split', async () => {
    const { page, foreign } = await open({ input: '32', 'test-fraction': '0.5' });
    await page.setInputFiles('#source-files', path.join(work, 'mobilenet.keras'));
    expect(await page.isChecked('#source-file')).toBe(true);
    await page.setInputFiles('#classes-zip', path.join(work, 'pets.zip'));
    await page.waitForFunction("document.querySelectorAll('.class-row').length === 2 && [...document.querySelectorAll('.class-count')].every((e) => /images/.test(e.textContent))");
    expect(await classNames(page)).toEqual(['cat', 'dog']);
    expect(await page.locator('.class-count').first().textContent()).toContain(`${PER_CLASS} images (skipped 1: pets.zip/pets/dog/README.txt)`);
    await page.click('#load');
    await page.waitForSelector('#split:not([hidden])', { timeout: 60_000 });
    const split = (await page.evaluate(() => (globalThis as unknown as { graftApp: { split: { classNames: string[]; counts: number[][]; source: string } } }).graftApp.split));
    expect(split.classNames).toEqual(['cat', 'dog']);
    expect(split.counts.map((c) => c.reduce((a, b) => a + b, 0))).toEqual([PER_CLASS, PER_CLASS]);
    expect(split.counts.map((c) => c[2])).toEqual([PER_CLASS / 2, PER_CLASS / 2]);
    expect(split.source).toContain('MobileNetV2 α 0.35 from mobilenet.keras, rebuilt at 32×32×3');
    expect(await page.textContent('#error')).toBe('');
    expect(foreign).toEqual([]);
    await page.close();
  });

  it.skipIf(!ready)('says what it takes when the source file is not a model', async () => {
    const { page } = await open({});
    await page.setInputFiles('#source-files', path.join(work, 'notes.txt'));
    await page.locator('.class-files').first().setInputFiles(path.join(work, 'pets.zip'));
    await page.click('#load');
    await page.waitForFunction("document.getElementById('error').textContent !== ''");
    expect(await page.textContent('#error')).toMatch(/^notes\.txt is not a model graft reads \(11 bytes, .*\)\. Choose a Keras model \(\.keras, or a full-model \.h5\), an ONNX model \(\.onnx\), or a TF\.js model/);
    await page.close();
  });

  it.skipIf(!ready)('the built-in source: weights fetched by graft app through the mirror; a clear message when they cannot be had', async () => {
    const { page, foreign } = await open({ input: '96', 'test-fraction': '0.5' });
    expect(await page.isChecked('#source-builtin')).toBe(true);
    // A zip in one class slot: all its images are that class, its name the zip's.
    await page.locator('.class-files').nth(0).setInputFiles(path.join(work, 'pets.zip'));
    await page.locator('.class-files').nth(1).setInputFiles(path.join(CIFAR_TREE, 'dog', '0000.jpg'));
    await page.waitForFunction("[...document.querySelectorAll('.class-count')].every((e) => /image/.test(e.textContent))");
    expect(await classNames(page)).toEqual(['pets', 'class 2']);
    await page.click('#load');
    await page.waitForSelector('#split:not([hidden])', { timeout: 60_000 });
    const split = (await page.evaluate(() => (globalThis as unknown as { graftApp: { split: { counts: number[][]; source: string } } }).graftApp.split));
    expect(split.source).toContain("MobileNetV2 α 0.35 (built-in), rebuilt at 96×96×3 (Keras applications' ImageNet weights");
    expect(split.counts[0]!.reduce((a, b) => a + b, 0)).toBe(2 * PER_CLASS);
    expect(mirror!.hits).toEqual([file96]);
    // 100 has no Keras file of its own: graft app asks for the 224 one, which the mirror lacks.
    await page.fill('#input', '100');
    await page.click('#load');
    await page.waitForFunction("document.getElementById('error').textContent !== ''");
    const error = await page.textContent('#error');
    expect(error).toContain(`graft app could not fetch the built-in weights ${zooEntry({ name: 'mobilenetv2', alpha: 0.35 }, 224).file}`);
    expect(error).toContain('Drop a model file');
    expect(error).toContain('GRAFT_WEIGHTS_MIRROR=URL');
    expect(foreign).toEqual([]);
    await page.close();
  });

  it.skipIf(!ready)('trains from an ONNX source with the preprocessing chosen on the page; reads a full-model .h5 in the page', async () => {
    const { page, foreign } = await open({ seeds: '1', 'frozen-epochs': '1', 'unfrozen-epochs': '1', 'test-fraction': '0.5' });
    expect(await page.isHidden('#onnx-options')).toBe(true);
    await page.setInputFiles('#source-files', path.join(work, 'cnn.onnx'));
    expect(await page.isVisible('#onnx-options')).toBe(true);
    await page.selectOption('#onnx-preprocess', 'scale');
    await page.setInputFiles('#classes-zip', path.join(work, 'pets.zip'));
    await page.waitForFunction("document.querySelectorAll('.class-row').length === 2 && [...document.querySelectorAll('.class-count')].every((e) => /images/.test(e.textContent))");
    await page.click('#load');
    await page.waitForSelector('#split:not([hidden])', { timeout: 60_000 });
    expect(await page.textContent('#decode-status')).toMatch(/ONNX cnn\.onnx .*input 24×24×3, scale preprocessing/);
    await page.click('#train');
    // Results, or the page's error (fails at once, with its text).
    await page.waitForFunction("!document.getElementById('step-results').hidden || document.getElementById('error').textContent !== ''", undefined, { timeout: 90_000 });
    expect(await page.textContent('#error'), await page.textContent('#progress-text') ?? '').toBe('');
    const accuracy = Number(await page.getAttribute('#test-accuracy', 'data-value'));
    // 3 test images per class: any k/6 is a real score; NaN or a missing one is not.
    expect(Number.isInteger(Math.round(accuracy * 2 * (PER_CLASS / 2) * 1e6) / 1e6)).toBe(true);
    // Each model format is a download, or the page says why it is not (an ONNX source's blocks have no Keras layer).
    const notes = (await page.locator('.not-exported').allTextContents()).join('\n');
    for (const [id, format] of [['download-keras', '.keras'], ['download-onnx', 'ONNX'], ['download-tfjs-json', 'TF.js']] as const) {
      if ((await page.locator(`#${id}`).count()) === 0) expect(notes).toContain(`No ${format} download: `);
    }
    expect(await page.locator('#download-report-json').count()).toBe(1);
    console.log(`app formats test, ONNX source: test accuracy ${accuracy}; downloads ${(await page.locator('#downloads a').allTextContents()).join(', ')}; ${notes || 'no notes'}`);
    if (existsSync(GREY_H5)) {
      await page.setInputFiles('#source-files', GREY_H5);
      await page.click('#load');
      // h5wasm read it in the page's worker: the model's own shape is in the message.
      await page.waitForFunction("/takes input of shape/.test(document.getElementById('error').textContent)", undefined, { timeout: 30_000 });
      expect(await page.textContent('#error')).toContain('keras-3.3.3-cnn.h5 takes input of shape [, 28, 28, 1]; the app feeds square RGB images');
    } else console.log(`app formats test: the .h5 check skipped, no fixture at ${GREY_H5}`);
    expect(foreign).toEqual([]);
    await page.close();
  }, 120_000);
});
