import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { GraftError } from '../errors.js';
import { errorCode, fsyncDir, tempSibling, writeError } from './atomic.js';

/**
 * Downloads one file: streamed to a temp sibling of `dest`, hashed on the way, and renamed into
 * place only when the SHA-256 matches, so `dest` never holds a partial or wrong file.
 */
export interface DownloadOptions {
  /** Expected SHA-256 (hex) of what lands in `dest`: the decompressed payload when `gunzip`. Default: not checked. */
  sha256?: string;
  /** The body is gzip; write it decompressed. Default false. */
  gunzip?: boolean;
  /** Called as bytes arrive (bytes on the wire; total from Content-Length when the server sends it). */
  onProgress?: (received: number, total: number | undefined) => void;
  /** Hosts the URL and any redirect may point to. Default: any. */
  allowedHosts?: string[];
  /** Give up when the server sends nothing for this long. Default 30 000 ms. */
  timeoutMs?: number;
  /** Refuse to write more than this many bytes (guards against gzip bombs). Default 512 MiB. */
  maxBytes?: number;
}

const MAX_REDIRECTS = 5;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;

function networkError(url: string, reason: string, cause?: unknown): GraftError {
  return new GraftError(
    'NETWORK',
    `Could not download ${url}: ${reason}. Check the network connection and try again, or fetch the file another way and point graft at its folder.`,
    cause === undefined ? undefined : { cause },
  );
}

function get(url: URL, timeoutMs: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.get(url, { headers: { 'user-agent': 'graft', 'accept-encoding': 'identity' } }, resolve);
    // Socket idle timeout: also covers a body that stalls midway (the response then errors).
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no data for ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

function checkUrl(url: URL, original: string, allowedHosts: string[] | undefined, redirected: boolean): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw networkError(original, `${redirected ? 'redirect to' : 'URL'} ${url.href} is not http or https`);
  }
  if (allowedHosts && !allowedHosts.some((h) => h.toLowerCase() === url.hostname.toLowerCase())) {
    throw networkError(
      original,
      `refused ${redirected ? 'a redirect' : 'to connect'} to host ${url.hostname} (allowed: ${allowedHosts.join(', ')})`,
    );
  }
}

/** Follows up to MAX_REDIRECTS redirects and returns the 200 response. */
async function openResponse(url: string, opts: DownloadOptions): Promise<http.IncomingMessage> {
  let current: URL;
  try {
    current = new URL(url);
  } catch (e) {
    throw new GraftError('BAD_ARGUMENT', `Download URL ${JSON.stringify(url)} is not a valid URL. Pass an absolute http(s) URL.`, { cause: e });
  }
  checkUrl(current, url, opts.allowedHosts, false);
  for (let hop = 0; ; hop++) {
    let res: http.IncomingMessage;
    try {
      res = await get(current, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    } catch (e) {
      throw networkError(url, (e as Error).message || String(errorCode(e)), e);
    }
    const status = res.statusCode ?? 0;
    if (status === 200) return res;
    res.resume(); // discard the body so the socket is released
    const location = res.headers.location;
    if (status >= 300 && status < 400 && location) {
      if (hop >= MAX_REDIRECTS) throw networkError(url, `more than ${MAX_REDIRECTS} redirects`);
      current = new URL(location, current);
      checkUrl(current, url, opts.allowedHosts, true);
      continue;
    }
    throw networkError(url, `the server answered HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${hop > 0 ? ` at ${current.href}` : ''}`);
  }
}

/** A pass-through stage that calls `onChunk` with each chunk; a thrown error aborts the pipeline. */
function tap(onChunk: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      try {
        onChunk(chunk);
        done(null, chunk);
      } catch (e) {
        done(e as Error);
      }
    },
  });
}

/** Downloads `url` to `dest` (see DownloadOptions); throws NETWORK, CHECKSUM_MISMATCH, DATA_CORRUPT or WRITE_FAILED. */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  try {
    await mkdir(path.dirname(dest), { recursive: true });
  } catch (e) {
    throw writeError(e, dest);
  }
  const res = await openResponse(url, opts);
  const lengthHeader = res.headers['content-length'];
  const total = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  const tmp = tempSibling(dest, 'download');
  const hash = createHash('sha256');
  let received = 0;
  let written = 0;
  try {
    const count = tap((chunk) => {
      received += chunk.length;
      opts.onProgress?.(received, total);
    });
    const hashAndBound = tap((chunk) => {
      written += chunk.length;
      if (written > maxBytes) throw new GraftError('DATA_CORRUPT', `Download of ${url} exceeds ${maxBytes} bytes, far more than expected. The mirror may serve a different file; fetch it another way.`);
      hash.update(chunk);
    });
    const sink = createWriteStream(tmp, { flags: 'wx' });
    if (opts.gunzip) await pipeline(res, count, createGunzip(), hashAndBound, sink);
    else await pipeline(res, count, hashAndBound, sink);
    if (total !== undefined && received !== total) throw networkError(url, `the connection was closed after ${received} of ${total} bytes`);
    const handle = await open(tmp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    const actual = hash.digest('hex');
    if (opts.sha256 !== undefined && actual !== opts.sha256.toLowerCase()) {
      throw new GraftError(
        'CHECKSUM_MISMATCH',
        `Downloaded ${url} but its SHA-256${opts.gunzip ? ' (after decompression)' : ''} is ${actual}, expected ${opts.sha256}. The file was deleted. Retry; if it happens again the mirror serves a different file, so fetch it from another source.`,
      );
    }
    await rename(tmp, dest);
  } catch (e) {
    res.destroy();
    await rm(tmp, { force: true }).catch(() => undefined);
    const sofar = `${received}${total === undefined ? '' : ` of ${total}`} bytes`;
    throw downloadError(e, url, dest, tmp, sofar);
  }
  await fsyncDir(path.dirname(dest)).catch((e: unknown) => {
    throw writeError(e, dest);
  });
}

function downloadError(e: unknown, url: string, dest: string, tmp: string, sofar: string): GraftError {
  if (e instanceof GraftError) return e;
  const code = errorCode(e);
  if ((e as { path?: unknown }).path === tmp || (e as { path?: unknown }).path === dest) return writeError(e, dest);
  if (code === 'Z_BUF_ERROR') return networkError(url, `the download ended after ${sofar}, before the end of the gzip data`, e);
  if (code === 'ECONNRESET' || (e as Error | null)?.message === 'aborted') return networkError(url, `the connection was closed after ${sofar}`, e);
  if (code !== undefined && code.startsWith('Z_')) {
    return new GraftError('DATA_CORRUPT', `Download of ${url} is not valid gzip data (${(e as Error).message}). The mirror may serve a different file; fetch it another way.`, { cause: e });
  }
  return networkError(url, (e as Error | null)?.message || code || String(e), e);
}
