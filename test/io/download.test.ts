import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { GraftError } from '../../src/errors.js';
import { downloadFile } from '../../src/io/download.js';
import { rejectsWith } from '../helpers.js';
import { deadPid, injectFault } from './fault-helpers.js';

const payload = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7) % 256));
const payloadSha = createHash('sha256').update(payload).digest('hex');
const gzipped = gzipSync(payload);

let server: http.Server;
/** Requests per path, and every request with its Range headers, since the test began. */
let hits: Record<string, number> = {};
let seen: { url: string; range?: string; ifRange?: string | string[] }[] = [];
type Route = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

/** Sends `body[from..]` as a 206 when the request asks for a Range (and `honour`), else the whole of it. */
function sendRange(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, headers: http.OutgoingHttpHeaders, honour = true, dropAt?: number): void {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const from = honour && m ? Number(m[1]) : 0;
  const part = body.subarray(from);
  res.writeHead(from > 0 ? 206 : 200, { ...headers, 'accept-ranges': 'bytes', 'content-length': part.length, ...(from > 0 && { 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` }) });
  if (dropAt === undefined) {
    res.end(part);
    return;
  }
  res.write(part.subarray(0, dropAt));
  // Dropped once the client has taken the bytes (see dropOnceReceived): a reset that races the
  // data can discard it in the client, and then there would be nothing to resume.
  const drop = (): void => void (res.destroyed || res.destroy());
  dropNow = drop;
  setTimeout(drop, 2000).unref();
}

let dropNow: (() => void) | undefined;
/** onProgress for the breaking routes: breaks the connection once DROP_AT bytes arrived. */
const dropOnceReceived = (received: number): void => {
  if (received >= DROP_AT) dropNow?.();
};

const versionB = Buffer.from(payload.map((b) => b ^ 0xff));
/** Barely compressible, so its gzip is long enough to break off midway. */
const noisy = randomBytes(60_000);
const noisySha = createHash('sha256').update(noisy).digest('hex');
const noisyGz = gzipSync(noisy);
/** Served only for the first request to each path: the body breaks off after 20 000 bytes. */
const DROP_AT = 20_000;
const routes: Record<string, Route> = {
  // Honours Range, sends a strong ETag: the second request resumes.
  '/resume': (req, res, n) => sendRange(req, res, payload, { etag: '"v1"' }, true, n === 1 ? DROP_AT : undefined),
  '/resume.gz': (req, res, n) => sendRange(req, res, noisyGz, { 'last-modified': 'Tue, 01 Jan 2030 00:00:00 GMT' }, true, n === 1 ? DROP_AT : undefined),
  // Ignores Range: the second request gets the whole file again (200), so graft starts over.
  '/ignores-range': (req, res, n) => sendRange(req, res, payload, { etag: '"v1"' }, false, n === 1 ? DROP_AT : undefined),
  // No validator, and the file changes between the two requests.
  '/changes': (req, res, n) => sendRange(req, res, n === 1 ? payload : versionB, {}, true, n === 1 ? DROP_AT : undefined),
  // Answers a resume with the wrong part of the file.
  '/wrong-range': (req, res, n) => {
    if (n === 2) {
      res.writeHead(206, { 'content-range': `bytes 0-${payload.length - 1}/${payload.length}`, 'content-length': payload.length });
      res.end(payload);
    } else sendRange(req, res, payload, { etag: '"v1"' }, true, n === 1 ? DROP_AT : undefined);
  },
  '/busy': (req, res, n) => {
    if (n === 1) {
      res.writeHead(503);
      res.end('busy');
    } else sendRange(req, res, payload, {});
  },
  // Resuming is redirected to another host.
  '/resume-elsewhere': (req, res, n) => {
    if (n === 1) sendRange(req, res, payload, { etag: '"v1"' }, true, DROP_AT);
    else {
      res.writeHead(302, { location: `http://localhost:${port}/resume` });
      res.end();
    }
  },
};
let base: string;
let port: number;
let dir: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    const n = (hits[url] = (hits[url] ?? 0) + 1);
    seen.push({ url, range: req.headers.range, ifRange: req.headers['if-range'] });
    const special = routes[url];
    if (special) return special(req, res, n);
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
  hits = {};
  seen = [];
  dropNow = undefined;
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

  it('reports a connection that keeps dropping as NETWORK after the bounded retries, leaving no partial file', async () => {
    const e = await rejectsWith(downloadFile(`${base}/drop`, path.join(dir, 'x'), { sha256: payloadSha, retries: 2, retryDelayMs: 1 }), 'NETWORK');
    expect(e.message).toContain(`${base}/drop`);
    expect(e.message).toMatch(new RegExp(`closed after \\d+ of ${payload.length} bytes`));
    expect(e.message).toContain('gave up after 3 attempts');
    expect(hits['/drop']).toBe(3);
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports HTTP errors and refused connections as NETWORK', async () => {
    expect((await rejectsWith(downloadFile(`${base}/missing`, path.join(dir, 'x')), 'NETWORK')).message).toContain('HTTP 404');
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    // A refused connection is not retried: a server that is down does not come back in seconds.
    const started = Date.now();
    await rejectsWith(downloadFile(`http://127.0.0.1:${closedPort}/x`, path.join(dir, 'x')), 'NETWORK');
    expect(Date.now() - started).toBeLessThan(900);
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

  it('an interrupted download resumes with a Range request and gets the right bytes', async () => {
    const dest = path.join(dir, 'r.bin');
    const progress: number[] = [];
    const onProgress = (r: number): void => {
      progress.push(r);
      dropOnceReceived(r);
    };
    await downloadFile(`${base}/resume`, dest, { sha256: payloadSha, retryDelayMs: 1, onProgress });
    expect((await readFile(dest)).equals(payload)).toBe(true);
    expect(seen.map((r) => r.url)).toEqual(['/resume', '/resume']);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(seen[1]!.range ?? '')?.[1]);
    expect(resumedAt).toBe(DROP_AT);
    expect(seen[1]!.ifRange).toBe('"v1"');
    expect(progress.at(-1)).toBe(payload.length);
    expect(await readdir(dir)).toEqual(['r.bin']);
  });

  it('resumes a gzip body, decompressing only the complete one', async () => {
    const dest = path.join(dir, 'r');
    await downloadFile(`${base}/resume.gz`, dest, { gunzip: true, sha256: noisySha, retryDelayMs: 1, onProgress: dropOnceReceived });
    expect((await readFile(dest)).equals(noisy)).toBe(true);
    expect(seen[1]!.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(seen[1]!.ifRange).toBe('Tue, 01 Jan 2030 00:00:00 GMT');
    expect(await readdir(dir)).toEqual(['r']);
  });

  it('starts over when the server ignores Range', async () => {
    const dest = path.join(dir, 'r.bin');
    await downloadFile(`${base}/ignores-range`, dest, { sha256: payloadSha, retryDelayMs: 1, onProgress: dropOnceReceived });
    expect((await readFile(dest)).equals(payload)).toBe(true);
    expect(seen[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(await readdir(dir)).toEqual(['r.bin']);
  });

  it('starts over when the server answers a resume with the wrong bytes', async () => {
    const dest = path.join(dir, 'r.bin');
    await downloadFile(`${base}/wrong-range`, dest, { sha256: payloadSha, retryDelayMs: 1, onProgress: dropOnceReceived });
    expect((await readFile(dest)).equals(payload)).toBe(true);
    expect(seen.map((r) => r.range === undefined)).toEqual([true, false, true]);
  });

  it('without a validator or checksum it does not stitch: the file changed, so it starts over', async () => {
    const dest = path.join(dir, 'r.bin');
    await downloadFile(`${base}/changes`, dest, { retryDelayMs: 1, onProgress: dropOnceReceived });
    expect(seen[1]!.range).toBeUndefined();
    expect((await readFile(dest)).equals(versionB)).toBe(true);
  });

  it('with a checksum a body stitched from two versions fails it: deleted, and the error says so', async () => {
    const dest = path.join(dir, 'r.bin');
    await writeFile(dest, 'earlier copy');
    const e = await rejectsWith(downloadFile(`${base}/changes`, dest, { sha256: payloadSha, retryDelayMs: 1, onProgress: dropOnceReceived }), 'CHECKSUM_MISMATCH');
    expect(seen[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(e.message).toContain('The file was deleted');
    expect(e.message).toContain(payloadSha);
    // Never a final file with wrong content: the earlier one is untouched, no temp is left.
    expect(await readFile(dest, 'utf8')).toBe('earlier copy');
    expect(await readdir(dir)).toEqual(['r.bin']);
  });

  it('retries an HTTP 503', async () => {
    const dest = path.join(dir, 'r.bin');
    await downloadFile(`${base}/busy`, dest, { sha256: payloadSha, retryDelayMs: 1 });
    expect(hits['/busy']).toBe(2);
    expect((await readFile(dest)).equals(payload)).toBe(true);
  });

  it('refuses a resume redirected to a host that is not allowed', async () => {
    const e = await rejectsWith(downloadFile(`${base}/resume-elsewhere`, path.join(dir, 'x'), { allowedHosts: ['127.0.0.1'], retryDelayMs: 1, onProgress: dropOnceReceived }), 'NETWORK');
    expect(e.message).toContain('refused a redirect to host localhost');
    expect(hits['/resume']).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });

  it('deletes what killed downloads of the same file left, keeping other processes’ and other files’', async () => {
    const dead = deadPid();
    const leftovers = [`.r.bin.download-${dead}-aaaaaaaaaaaa`, `.r.bin.tmp-${dead}-bbbbbbbbbbbb`];
    const kept = [`.r.bin.download-${process.pid}-cccccccccccc`, `.other.download-${dead}-dddddddddddd`];
    for (const n of [...leftovers, ...kept]) await writeFile(path.join(dir, n), 'partial');
    await downloadFile(`${base}/plain`, path.join(dir, 'r.bin'), { sha256: payloadSha });
    expect((await readdir(dir)).sort()).toEqual([...kept, 'r.bin'].sort());
  });

  describe('disk faults', () => {
    let undo: (() => number) | undefined;
    afterEach(() => {
      undo?.();
      undo = undefined;
    });
    for (const [code, step, words] of [
      ['ENOSPC', 'write', 'no space left'],
      ['EROFS', 'open', 'read-only file system'],
      ['EACCES', 'open', 'Permission denied'],
      ['ENOSPC', 'sync', 'no space left'],
      ['EIO', 'rename', 'EIO'],
    ] as const) {
      it(`${code} at ${step}: a clear error naming the file, no temp left, the earlier file intact`, async () => {
        const dest = path.join(dir, 'r');
        await writeFile(dest, 'earlier copy');
        undo = injectFault(step, code);
        const e = await rejectsWith(downloadFile(`${base}/resume.gz`, dest, { gunzip: true, sha256: noisySha, retryDelayMs: 1, onProgress: dropOnceReceived }), 'WRITE_FAILED');
        expect(undo()).toBeGreaterThan(0);
        expect(e.message).toContain(dest);
        expect(e.message).toContain(words);
        expect(e.message).toContain(`Nothing at ${dest} was changed`);
        expect(await readFile(dest, 'utf8')).toBe('earlier copy');
        expect(await readdir(dir)).toEqual(['r']);
      });
    }
  });
});
