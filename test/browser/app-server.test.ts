import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveApp, type AppServer } from '../../src/app-server/serve.js';
import { BUILTIN_ROUTE } from '../../src/app-server/builtin.js';
import { zooEntry } from '../../src/models/zoo.js';
import { isGraftError } from '../../src/errors.js';
import { runCli } from '../../src/cli/main.js';

/** `graft app`'s server on a small stand-in build: the app's files, nothing outside them, clear errors. */
let dir = '';
let root = '';
let server: AppServer | undefined;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'graft-app-server-'));
  root = path.join(dir, 'app');
  await mkdir(path.join(root, 'wasm'), { recursive: true });
  await writeFile(path.join(root, 'index.html'), '<!doctype html><title>app</title>');
  await writeFile(path.join(root, 'wasm', 'x.wasm'), Uint8Array.of(0, 97, 115, 109));
  await writeFile(path.join(dir, 'secret.txt'), 'outside the app');
  server = await serveApp({ root, port: 0 });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A raw GET: the path is sent as written (fetch would normalise `..` away). */
function get(url: string, rawPath: string): Promise<{ status: number; type: string | undefined; body: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: rawPath }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('latin1')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('graft app server', () => {
  it('prints a localhost URL and serves the page at / and .wasm files as application/wasm', async () => {
    expect(server!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(server!.url, '/');
    expect(page).toMatchObject({ status: 200, body: '<!doctype html><title>app</title>' });
    expect(page.type).toMatch(/^text\/html/);
    expect(await get(server!.url, '/wasm/x.wasm')).toMatchObject({ status: 200, type: 'application/wasm' });
    expect((await get(server!.url, '/nothing.js')).status).toBe(404);
  });

  it('sends COOP same-origin and COEP require-corp on every response (the page is cross-origin isolated)', async () => {
    for (const p of ['/', '/wasm/x.wasm', '/nothing.js', `${BUILTIN_ROUTE}?input=x`]) {
      const r = await get(server!.url, p);
      expect(r.headers['cross-origin-opener-policy'], p).toBe('same-origin');
      expect(r.headers['cross-origin-embedder-policy'], p).toBe('require-corp');
    }
  });

  it('never serves a file outside the app folder, however the path is encoded', async () => {
    for (const p of ['/..%2fsecret.txt', '/%2e%2e%2fsecret.txt', '/wasm/..%2f..%2fsecret.txt']) {
      const r = await get(server!.url, p);
      expect(r.status, p).toBe(404);
      expect(r.body).not.toContain('outside');
    }
  });

  it('says the port is taken, naming it and the fix', async () => {
    const port = Number(new URL(server!.url).port);
    const e = await serveApp({ root, port }).catch((err: unknown) => err);
    expect(isGraftError(e)).toBe(true);
    expect((e as Error).message).toMatch(new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is already in use.*--port`));
  });

  it('says the app is not built, naming the missing file and npm run build:app', async () => {
    const empty = path.join(dir, 'empty');
    await mkdir(empty);
    const e = await serveApp({ root: empty, port: 0 }).catch((err: unknown) => err);
    expect(isGraftError(e) && e.code).toBe('DATA_NOT_FOUND');
    expect((e as Error).message).toContain(path.join(empty, 'index.html'));
    expect((e as Error).message).toContain('npm run build:app');
  });

  it('graft app is a command: --help shows its options, a bad --port is a user error (exit 2)', async () => {
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const werr = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
    process.stderr.write = ((s: string) => (out.push(s), true)) as typeof process.stderr.write;
    try {
      expect(await runCli(['app', '--help'])).toBe(0);
      expect(await runCli(['app', '--port', 'eighty'])).toBe(2);
    } finally {
      process.stdout.write = write;
      process.stderr.write = werr;
    }
    const text = out.join('');
    expect(text).toContain('graft app [--port N] [--host ADDRESS]');
    expect(text).toContain('--port needs a whole number from 0 to 65535; received "eighty"');
  });
});

/** A stand-in for Keras's weight host: serves `files` by name, 404 otherwise, and counts requests. */
async function mirror(files: Record<string, Uint8Array>): Promise<{ url: string; hits: string[]; server: Server }> {
  const hits: string[] = [];
  const m = createServer((req, res) => {
    const name = (req.url ?? '').split('/').pop() ?? '';
    hits.push(name);
    const body = files[name];
    res.writeHead(body ? 200 : 404, { 'content-length': body ? body.length : 0 });
    res.end(body);
  });
  await new Promise<void>((resolve) => m.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(m.address() as AddressInfo).port}/keras`, hits, server: m };
}

describe('graft app server: the built-in source', () => {
  const file96 = zooEntry({ name: 'mobilenetv2', alpha: 0.35 }, 96).file;
  const file224 = zooEntry({ name: 'mobilenetv2', alpha: 0.35 }, 224).file;
  // Distinct bytes per file, so a test sees which file was served.
  const bytes = { [file96]: Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) % 251), [file224]: Uint8Array.from({ length: 2000 }, (_, i) => (i * 3) % 241) };

  it('fetches the weights from the mirror into the cache once, then serves them from there', async () => {
    const m = await mirror(bytes);
    const cacheDir = path.join(dir, 'cache-ok');
    const s = await serveApp({ root, port: 0, weights: { cacheDir, kerasCache: false, mirror: m.url } });
    try {
      const [a, b] = await Promise.all([get(s.url, `${BUILTIN_ROUTE}?input=96`), get(s.url, `${BUILTIN_ROUTE}?input=96`)]);
      for (const r of [a, b]) {
        expect(r.status).toBe(200);
        expect(Buffer.from(r.body, 'latin1').equals(Buffer.from(bytes[file96]!))).toBe(true);
      }
      // An input without its own Keras file gets the 224 one, as the CLI does.
      const c = await get(s.url, `${BUILTIN_ROUTE}?input=100`);
      expect(Buffer.from(c.body, 'latin1').equals(Buffer.from(bytes[file224]!))).toBe(true);
      expect(m.hits.filter((h) => h === file96)).toHaveLength(1);
      expect(readdirSync(cacheDir).sort()).toEqual([file224, file96].sort());
      await get(s.url, `${BUILTIN_ROUTE}?input=96`);
      expect(m.hits.filter((h) => h === file96)).toHaveLength(1);
    } finally {
      await s.close();
      await new Promise((r) => m.server.close(r));
    }
  });

  it('without the weights (mirror lacks them) answers 503 naming the file and the fixes; a bad ?input is a 400', async () => {
    const m = await mirror({});
    const s = await serveApp({ root, port: 0, weights: { cacheDir: path.join(dir, 'cache-none'), kerasCache: false, mirror: m.url } });
    try {
      const r = await get(s.url, `${BUILTIN_ROUTE}?input=96`);
      expect(r.status).toBe(503);
      expect(r.body).toContain('graft app could not fetch the built-in weights');
      expect(r.body).toContain(file96);
      expect(r.body).toContain(`${m.url}/${file96}`);
      expect(r.body).toContain('GRAFT_WEIGHTS_MIRROR=URL');
      expect(r.body).toContain('Drop a model file');
      expect(r.body).toContain(path.join(dir, 'cache-none', file96));
      // The page's fixes, not the command line's.
      expect(r.body).not.toContain('--weights');
      const bad = await get(s.url, `${BUILTIN_ROUTE}?input=ten`);
      expect(bad.status).toBe(400);
      expect(bad.body).toContain('received "ten"');
    } finally {
      await s.close();
      await new Promise((r) => m.server.close(r));
    }
  });
});
