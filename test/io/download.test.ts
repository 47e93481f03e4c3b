import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { GraftError } from '../../src/errors.js';
import { downloadFile } from '../../src/io/download.js';
import { rejectsWith } from '../helpers.js';

const payload = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7) % 256));
const payloadSha = createHash('sha256').update(payload).digest('hex');
const gzipped = gzipSync(payload);

let server: http.Server;
let base: string;
let port: number;
let dir: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    switch (req.url) {
      case '/plain':
        res.writeHead(200, { 'content-length': payload.length });
        res.end(payload);
        return;
      case '/file.gz':
        res.writeHead(200, { 'content-length': gzipped.length });
        res.end(gzipped);
        return;
      case '/redirect':
        res.writeHead(302, { location: '/plain' });
        res.end();
        return;
      case '/redirect-elsewhere':
        res.writeHead(301, { location: `http://localhost:${port}/plain` });
        res.end();
        return;
      case '/loop':
        res.writeHead(302, { location: '/loop' });
        res.end();
        return;
      case '/drop':
        res.writeHead(200, { 'content-length': payload.length });
        res.write(payload.subarray(0, 1000), () => res.destroy());
        return;
      default:
        res.writeHead(404);
        res.end('nope');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'graft-download-'));
  return () => rm(dir, { recursive: true, force: true });
});


describe('downloadFile', () => {
  it('downloads and verifies the checksum, reporting progress', async () => {
    const dest = path.join(dir, 'plain.bin');
    const seen: [number, number | undefined][] = [];
    await downloadFile(`${base}/plain`, dest, { sha256: payloadSha, allowedHosts: ['127.0.0.1'], onProgress: (r, t) => seen.push([r, t]) });
    expect((await readFile(dest)).equals(payload)).toBe(true);
    expect(seen.at(-1)).toEqual([payload.length, payload.length]);
    expect(await readdir(dir)).toEqual(['plain.bin']);
  });

  it('gunzips and checks the hash of the decompressed bytes', async () => {
    const dest = path.join(dir, 'file');
    await downloadFile(`${base}/file.gz`, dest, { gunzip: true, sha256: payloadSha });
    expect((await readFile(dest)).equals(payload)).toBe(true);
  });

  it('deletes the file and reports expected/actual on a checksum mismatch', async () => {
    const dest = path.join(dir, 'plain.bin');
    const wrong = '0'.repeat(64);
    const e = await rejectsWith(downloadFile(`${base}/plain`, dest, { sha256: wrong }), 'CHECKSUM_MISMATCH');
    expect(e.message).toContain(wrong);
    expect(e.message).toContain(payloadSha);
    expect(await readdir(dir)).toEqual([]);
  });

  it('follows redirects to allowed hosts', async () => {
    const dest = path.join(dir, 'r.bin');
    await downloadFile(`${base}/redirect`, dest, { sha256: payloadSha, allowedHosts: ['127.0.0.1'] });
    expect((await readFile(dest)).length).toBe(payload.length);
  });

  it('refuses a redirect to a host that is not allowed', async () => {
    const e = await rejectsWith(downloadFile(`${base}/redirect-elsewhere`, path.join(dir, 'x'), { allowedHosts: ['127.0.0.1'] }), 'NETWORK');
    expect(e.message).toContain('host localhost');
    expect(e.message).toContain('allowed: 127.0.0.1');
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a first URL whose host is not allowed', async () => {
    await rejectsWith(downloadFile(`${base}/plain`, path.join(dir, 'x'), { allowedHosts: ['example.org'] }), 'NETWORK');
  });

  it('gives up after too many redirects', async () => {
    expect((await rejectsWith(downloadFile(`${base}/loop`, path.join(dir, 'x')), 'NETWORK')).message).toContain('more than 5 redirects');
  });

  it('reports a dropped connection as NETWORK and leaves no partial file', async () => {
    const e = await rejectsWith(downloadFile(`${base}/drop`, path.join(dir, 'x'), { sha256: payloadSha }), 'NETWORK');
    expect(e.message).toContain(`${base}/drop`);
    expect(e.message).toMatch(new RegExp(`closed after \\d+ of ${payload.length} bytes`));
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports HTTP errors and refused connections as NETWORK', async () => {
    expect((await rejectsWith(downloadFile(`${base}/missing`, path.join(dir, 'x')), 'NETWORK')).message).toContain('HTTP 404');
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await rejectsWith(downloadFile(`http://127.0.0.1:${closedPort}/x`, path.join(dir, 'x')), 'NETWORK');
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses non-gzip data when gunzip is asked for', async () => {
    await rejectsWith(downloadFile(`${base}/plain`, path.join(dir, 'x'), { gunzip: true }), 'DATA_CORRUPT');
    expect(await readdir(dir)).toEqual([]);
  });

  it('bounds the bytes written', async () => {
    await rejectsWith(downloadFile(`${base}/file.gz`, path.join(dir, 'x'), { gunzip: true, maxBytes: 1000 }), 'DATA_CORRUPT');
    expect(await readdir(dir)).toEqual([]);
  });
});
