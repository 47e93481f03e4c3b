import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { bundleForBrowser, describeReaches } from './bundle-check.js';

/**
 * Serves onnx-web-page.ts bundled for the browser (package.json's browser field honoured, so
 * onnxruntime-web stands in for onnxruntime-node) with onnxruntime-web's files at /ort/ and
 * tfjs-backend-wasm's at /wasm/. `/` is a page that imports the bundle; `/worker.js` a dedicated
 * worker that imports it and runs each message's call. With `isolated`, every response carries
 * COOP/COEP (and CORP), so the page and its workers are cross-origin isolated and wasm threads work.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface PageServer {
  origin: string;
  close(): Promise<void>;
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>graft onnxruntime-web</title><link rel="icon" href="data:,">
<script type="module">window.page = await import('/page.js');</script>`;

// The worker runs one exported function of the page bundle per message and posts its result back.
const WORKER = `const page = await import('/page.js');
self.onmessage = async (e) => {
  try { self.postMessage({ ok: await page[e.data.call](...e.data.args) }); }
  catch (err) { self.postMessage({ error: String(err && err.stack || err) }); }
};
self.postMessage({ ready: true });`;

export async function servePage(options: { isolated: boolean }): Promise<PageServer> {
  const bundle = await bundleForBrowser(path.join(ROOT, 'test/browser/onnx-web-page.ts'));
  const reaches = describeReaches(bundle.reached);
  if (reaches !== '') throw new Error(`the page bundle reaches Node modules:\n${reaches}`);
  const files = new Map<string, { type: string; body: string | Buffer }>([
    ['/', { type: 'text/html', body: PAGE }],
    ['/page.js', { type: 'text/javascript', body: bundle.code }],
    ['/worker.js', { type: 'text/javascript', body: WORKER }],
  ]);
  const ortDir = path.join(ROOT, 'node_modules/onnxruntime-web/dist');
  for (const name of ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']) {
    files.set(`/ort/${name}`, { type: name.endsWith('.mjs') ? 'text/javascript' : 'application/wasm', body: await readFile(path.join(ortDir, name)) });
  }
  const wasmDir = path.join(ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const name of (await readdir(wasmDir)).filter((f) => f.endsWith('.wasm'))) {
    files.set(`/wasm/${name}`, { type: 'application/wasm', body: await readFile(path.join(wasmDir, name)) });
  }
  const isolation = options.isolated
    ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cross-origin-resource-policy': 'same-origin' }
    : {};
  const server: Server = createServer((req, res) => {
    const file = files.get(new URL(req.url ?? '/', 'http://x').pathname);
    res.writeHead(file ? 200 : 404, { 'content-type': file?.type ?? 'text/plain', ...isolation });
    res.end(file?.body ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
