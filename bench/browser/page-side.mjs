// The browser half's driver for bench/browser-node.mjs: bundles the bench page (esbuild), serves it
// with the data, the model and the wasm files, and runs it once in a fresh headless Chromium.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchError } from './bench-error.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');

export async function bundlePage() {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [path.join(HERE, 'transfer-page.ts')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022',
    minify: true, write: false, logLevel: 'silent',
  }).catch((e) => {
    throw new BenchError(`esbuild could not bundle bench/browser/transfer-page.ts: ${e.message}`);
  });
  const file = out.outputFiles[0];
  if (!file) throw new BenchError('esbuild wrote no bundle for bench/browser/transfer-page.ts.');
  return file.text;
}

/** onnxruntime-web's files the page needs (app/build.mjs's ORT_FILES: the plain SIMD-threaded build). */
const ORT_FILES = ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

/**
 * Serves the page, /data/ (the harness's pixel files), /tm/ (the source model), /wasm/, /ort/ and
 * /jpeg/<i> (the i-th of `jpegs`, the image files themselves) on 127.0.0.1; `isolated` adds the app
 * server's cross-origin isolation headers.
 */
export async function startServer(tmDir, dataDir, pageJs, isolated, jpegs = []) {
  const files = new Map([
    ['/', { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>graft bench</title><link rel="icon" href="data:,"><script type="module" src="/page.js"></script>' }],
    ['/page.js', { type: 'text/javascript', body: pageJs }],
    ['/tm/model.json', { type: 'application/json', path: path.join(tmDir, 'model.json') }],
    ['/tm/weights.bin', { type: 'application/octet-stream', path: path.join(tmDir, 'weights.bin') }],
  ]);
  for (const name of await readdir(dataDir)) files.set(`/data/${name}`, { type: 'application/octet-stream', path: path.join(dataDir, name) });
  jpegs.forEach((file, i) => files.set(`/jpeg/${i}`, { type: 'image/jpeg', path: file }));
  // As app/build.mjs: tfjs-backend-wasm fetches its .wasm files at run time from wasmPaths.
  const wasmDir = path.join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const name of (await readdir(wasmDir)).filter((n) => n.endsWith('.wasm'))) files.set(`/wasm/${name}`, { type: 'application/wasm', path: path.join(wasmDir, name) });
  const ortDir = path.join(ROOT, 'node_modules/onnxruntime-web/dist');
  for (const name of ORT_FILES.filter((n) => existsSync(path.join(ortDir, n)))) files.set(`/ort/${name}`, { type: name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', path: path.join(ortDir, name) });
  // The app server's headers (src/app-server/serve.ts): SharedArrayBuffer, hence wasm threads.
  const headers = isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin' } : {};
  const server = createServer((req, res) => {
    const f = files.get(req.url ?? '');
    if (!f) {
      res.writeHead(404, { 'content-type': 'text/plain', ...headers }).end('not found');
      return;
    }
    (f.path ? readFile(f.path) : Promise.resolve(f.body)).then(
      (body) => res.writeHead(200, { 'content-type': f.type, ...headers }).end(body),
      (e) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e)),
    );
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

/** RSS of a process's descendants (and its own with withRoot), from /proc (Linux); 0 where /proc is not readable. */
async function treeRss(rootPid, { withRoot = true } = {}) {
  let total = 0;
  let largest = 0;
  const children = new Map();
  const rss = new Map();
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue;
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
    const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    rss.set(Number(pid), kb);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(pid));
  }
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop();
    const kb = pid === rootPid && !withRoot ? 0 : rss.get(pid) ?? 0;
    total += kb;
    largest = Math.max(largest, kb);
    stack.push(...(children.get(pid) ?? []));
  }
  return { totalMb: total / 1024, largestMb: largest / 1024 };
}

/** One transfer run of the page (transfer-page.ts) in a fresh Chromium at `chromium`; its result plus peak RSS. */
export function runBrowser({ chromium, timeout, settings }, origin, engine) {
  return runInPage({ chromium, timeout }, origin, 'benchTransfer', { settings, engine });
}

/** The app's decoding path (decode-check.ts) on the files served at /jpeg/, in a fresh Chromium. */
export function runPageDecode({ chromium, timeout }, origin, run) {
  return runInPage({ chromium, timeout }, origin, 'benchDecode', run);
}

/** Calls the page's global function `name` with `arg` in a fresh headless Chromium; its result plus peak RSS. */
async function runInPage({ chromium: executablePath, timeout }, origin, name, arg) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const errors = [];
  const peak = { totalMb: 0, largestMb: 0 };
  let sampling = true;
  // Sampled twice a second: a cheap peak, which can miss a spike shorter than that. Chromium's
  // processes are this process's only descendants while a browser run lasts (Node runs are over).
  const sampler = (async () => {
    while (sampling) {
      const r = await treeRss(process.pid, { withRoot: false });
      peak.totalMb = Math.max(peak.totalMb, r.totalMb);
      peak.largestMb = Math.max(peak.largestMb, r.largestMb);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${origin}/`);
    await page.waitForFunction((n) => n in globalThis, name, { timeout: 60_000 });
    let timer;
    const result = await Promise.race([
      page.evaluate(([n, a]) => globalThis[n](a), [name, arg]),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new BenchError(`the browser run passed --timeout ${timeout} s`)), timeout * 1000))),
    ]).finally(() => clearTimeout(timer));
    if (errors.length > 0) result.pageErrors = errors;
    return { ...result, peakRssMb: peak.largestMb, peakRssTreeMb: peak.totalMb, chromium: browser.version() };
  } catch (e) {
    throw new BenchError(`the browser run failed: ${e instanceof Error ? e.message : String(e)}${errors.length ? `\npage errors: ${errors.join('\n')}` : ''}`);
  } finally {
    sampling = false;
    await sampler;
    await browser.close();
  }
}
