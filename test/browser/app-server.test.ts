import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveApp, type AppServer } from '../../src/app-server/serve.js';
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
function get(url: string, rawPath: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: rawPath }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('latin1')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
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
