import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { bundleForBrowser, describeReaches } from './bundle-check.js';
import { launchChromium, watchPage } from './chromium.js';

/**
 * A page for a browser test: `entry` (a TypeScript module) bundled for the browser as a user's
 * bundler would (package.json's browser field honoured, no Node built-in allowed), served from
 * 127.0.0.1 and imported by `/` as `window.page`. `run` opens it in headless Chromium, calls one
 * exported function of the module and collects what went wrong on the page.
 */

export interface ServedPage {
  origin: string;
  close(): Promise<void>;
}

export interface PageRun<R> {
  result: R;
  /** Uncaught page errors, console errors and failed responses. */
  errors: string[];
  /** Requests to anything but the test's own server: a page must need no network. */
  foreign: string[];
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>graft test page</title><link rel="icon" href="data:,">
<script type="module">window.page = await import('/page.js');</script>`;

export async function serveBundledPage(entry: string): Promise<ServedPage> {
  const bundle = await bundleForBrowser(entry);
  const reaches = describeReaches(bundle.reached);
  if (reaches !== '') throw new Error(`the page bundle reaches Node modules:\n${reaches}`);
  const files = new Map([
    ['/', { type: 'text/html', body: PAGE }],
    ['/page.js', { type: 'text/javascript', body: bundle.code }],
  ]);
  const server = createServer((req, res) => {
    const file = files.get(req.url ?? '');
    res.writeHead(file ? 200 : 404, { 'content-type': file?.type ?? 'text/plain' });
    res.end(file?.body ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Opens the page, waits for its module (the global `ready`), and returns `call(page)`'s result with the page's errors. */
export async function runInPage<R>(origin: string, call: (page: Page) => Promise<R>, ready = 'page'): Promise<PageRun<R>> {
  const browser = await launchChromium();
  const errors: string[] = [];
  const foreign: string[] = [];
  try {
    const page = await browser.newPage();
    watchPage(page, origin, errors, foreign);
    await page.goto(`${origin}/`);
    await page.waitForFunction((name) => name in globalThis, ready, { timeout: 60_000 });
    return { result: await call(page), errors, foreign };
  } finally {
    await browser.close();
  }
}

/** Bytes as base64, to cross into a page (page.evaluate takes JSON). */
export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
