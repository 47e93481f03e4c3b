import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, open, rename, rm, type FileHandle } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { GraftError } from '../errors.js';
import { beforeStep, errorCode, fsyncDir, leftoversOf, makeDirs, removeStale, syncHandle, tempSibling, writeAll, writeError } from './atomic.js';

/**
 * Downloads one file. The bytes go to a hidden `.download-*` sibling of `dest`; a dropped
 * connection is retried a few times, resuming with an HTTP Range request where that is safe and
 * the server honours it, otherwise starting over. Only a complete body whose SHA-256 matches is
 * decompressed (when asked) and renamed into place, so `dest` never holds a partial or wrong file.
 */
export interface DownloadOptions {
  /** Expected SHA-256 (hex) of what lands in `dest`: the decompressed payload when `gunzip`. Default: not checked. */
  sha256?: string;
  /** The body is gzip; write it decompressed. Default false. */
  gunzip?: boolean;
  /** Called as bytes arrive (bytes of the body so far, counting resumed ones; total from Content-Length or Content-Range). */
  onProgress?: (received: number, total: number | undefined) => void;
  /** Hosts the URL and any redirect may point to. Default: any. */
  allowedHosts?: string[];
  /** Give up on one attempt when the server sends nothing for this long. Default 30 000 ms. */
  timeoutMs?: number;
  /** Refuse to write more than this many bytes, downloaded or decompressed (guards against gzip bombs). Default 512 MiB. */
  maxBytes?: number;
  /** Further attempts after a dropped connection, a timeout or an HTTP 5xx. Default 3. */
  retries?: number;
  /** Wait before the first retry, doubled for each next one. Default 1000 ms. */
  retryDelayMs?: number;
  /** Request headers for the URL's own host; dropped when a redirect leaves it, so a token never reaches a CDN. Default none. */
  headers?: Record<string, string>;
  /**
   * Keep the partial body in this file between calls: a later call resumes from it (Range, when
   * `sha256` is given to catch a body stitched from two versions), a dropped connection leaves it,
   * wrong bytes remove it. Default: a hidden temp sibling, deleted on any failure.
   */
  partFile?: string;
}

export const DOWNLOAD_DEFAULTS = { timeoutMs: 30_000, maxBytes: 512 * 1024 * 1024, retries: 3, retryDelayMs: 1000 } as const;

const MAX_REDIRECTS = 5;
/** Connection errors worth another attempt (a timeout has no code: it is ours). */
const TRANSIENT = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN']);

function networkError(url: string, reason: string, cause?: unknown): GraftError {
  return new GraftError(
    'NETWORK',
    `Could not download ${url}: ${reason}. Check the network connection and try again, or fetch the file another way and point graft at its folder.`,
    cause === undefined ? undefined : { cause },
  );
}

/** Failures another attempt may fix: drops, timeouts, refused connections, 5xx. */
const retryable = new WeakSet<object>();
function mayRetry<E extends object>(e: E): E {
  retryable.add(e);
  return e;
}

function get(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.get(url, { headers: { 'user-agent': 'graft', 'accept-encoding': 'identity', ...headers } }, resolve);
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

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch (e) {
    throw new GraftError('BAD_ARGUMENT', `Download URL ${JSON.stringify(url)} is not a valid URL. Pass an absolute http(s) URL.`, { cause: e });
  }
}

/** Follows up to MAX_REDIRECTS redirects (each checked against allowedHosts) and returns a 200 or 206 response. */
async function openResponse(url: string, headers: Record<string, string>, opts: DownloadOptions): Promise<http.IncomingMessage> {
  let current = parseUrl(url);
  const origin = current.origin;
  checkUrl(current, url, opts.allowedHosts, false);
  for (let hop = 0; ; hop++) {
    let res: http.IncomingMessage;
    try {
      const own = current.origin === origin ? opts.headers : undefined;
      res = await get(current, { ...own, ...headers }, opts.timeoutMs ?? DOWNLOAD_DEFAULTS.timeoutMs);
    } catch (e) {
      // A server that refuses connections or a name that does not resolve will not recover in
      // seconds; a reset or a timeout may.
      const err = networkError(url, (e as Error).message || String(errorCode(e)), e);
      throw TRANSIENT.has(errorCode(e) ?? '') || !errorCode(e) ? mayRetry(err) : err;
    }
    const status = res.statusCode ?? 0;
    if (status === 200 || status === 206 || status === 416) return res;
    res.resume(); // discard the body so the socket is released
    const location = res.headers.location;
    if (status >= 300 && status < 400 && location) {
      if (hop >= MAX_REDIRECTS) throw networkError(url, `more than ${MAX_REDIRECTS} redirects`);
      current = new URL(location, current);
      checkUrl(current, url, opts.allowedHosts, true);
      continue;
    }
    const e = networkError(url, `the server answered HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}${hop > 0 ? ` at ${current.href}` : ''}`);
    throw status >= 500 ? mayRetry(e) : e;
  }
}

/** `bytes START-END/TOTAL` → its numbers; undefined when absent or malformed. */
function parseContentRange(header: string | undefined): { start: number; total: number | undefined } | undefined {
  const m = header === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

/** What identifies the file on the server, for If-Range: a strong ETag, else Last-Modified. */
function validatorOf(res: http.IncomingMessage): string | undefined {
  const etag = res.headers.etag;
  if (etag && !etag.startsWith('W/')) return etag;
  return res.headers['last-modified'];
}

interface Body {
  handle: FileHandle;
  file: string;
  /** Bytes of the body in `file` so far. */
  have: number;
  total: number | undefined;
  validator: string | undefined;
}

/**
 * One attempt: asks for the rest of the body when `resume` and part of it is there, else for all of
 * it, and appends what arrives. Throws when the body ends early.
 */
async function fetchBody(url: string, body: Body, resume: boolean, opts: DownloadOptions, maxBytes: number): Promise<void> {
  const from = resume ? body.have : 0;
  const headers: Record<string, string> = from > 0 ? { range: `bytes=${from}-`, ...(body.validator && { 'if-range': body.validator }) } : {};
  const res = await openResponse(url, headers, opts);
  const restart = async (reason: string): Promise<never> => {
    // The next attempt asks for the whole file.
    body.have = 0;
    await body.handle.truncate(0);
    throw mayRetry(networkError(url, reason));
  };
  try {
    if (res.statusCode === 416) await restart(`the server refused to resume at byte ${from} (HTTP 416)`);
    const range = res.statusCode === 206 ? parseContentRange(res.headers['content-range']) : undefined;
    if (res.statusCode === 206 && (from === 0 || range?.start !== from)) {
      await restart(`the server sent bytes ${res.headers['content-range'] ?? '(no Content-Range)'} when asked for bytes ${from}-`);
    }
    if (range) {
      body.total = range.total;
    } else {
      // A 200 is the whole file again (the server ignores Range, or the file changed): start over.
      body.have = 0;
      await body.handle.truncate(0);
      const length = res.headers['content-length'];
      body.total = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
      body.validator = validatorOf(res);
    }
    const chunks = (res as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (e) {
        throw mayRetry(networkError(url, `the connection was closed after ${body.have}${body.total === undefined ? '' : ` of ${body.total}`} bytes`, e));
      }
      if (next.done) break;
      const chunk = next.value;
      if (body.have + chunk.length > maxBytes) {
        throw new GraftError('DATA_CORRUPT', `Download of ${url} exceeds ${maxBytes} bytes, far more than expected. The mirror may serve a different file; fetch it another way.`);
      }
      await writeAll(body.handle, chunk, body.have, body.file);
      body.have += chunk.length;
      opts.onProgress?.(body.have, body.total);
    }
    if (body.total !== undefined && body.have !== body.total) throw mayRetry(networkError(url, `the connection was closed after ${body.have} of ${body.total} bytes`));
  } catch (e) {
    res.destroy();
    throw e;
  }
}

/** Hashes `file` (decompressing it first when `gunzip`) into `out`, or only hashes it when `out` is undefined. */
async function hashPayload(url: string, file: string, gunzip: boolean, out: string | undefined, maxBytes: number): Promise<string> {
  const hash = createHash('sha256');
  let written = 0;
  const handle = out === undefined ? undefined : (beforeStep('open', out), await open(out, 'wx'));
  try {
    // pipeline reports an error thrown by the sink as an AbortError of the stage before it.
    let failure: unknown;
    const sink = async (source: AsyncIterable<Buffer>): Promise<void> => {
      try {
        for await (const chunk of source) {
          written += chunk.length;
          if (written > maxBytes) throw new GraftError('DATA_CORRUPT', `Download of ${url} decompresses to more than ${maxBytes} bytes, far more than expected. The mirror may serve a different file; fetch it another way.`);
          hash.update(chunk);
          if (handle && out !== undefined) await writeAll(handle, chunk, written - chunk.length, out);
        }
      } catch (e) {
        failure = e;
        throw e;
      }
    };
    try {
      if (gunzip) await pipeline(createReadStream(file), createGunzip(), sink);
      else await pipeline(createReadStream(file), sink);
    } catch (e) {
      throw failure ?? e;
    }
    if (handle && out !== undefined) await syncHandle(handle, out);
  } finally {
    await handle?.close();
  }
  return hash.digest('hex');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Downloads `url` to `dest` (see DownloadOptions); throws NETWORK, CHECKSUM_MISMATCH, DATA_CORRUPT or WRITE_FAILED. */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  const maxBytes = opts.maxBytes ?? DOWNLOAD_DEFAULTS.maxBytes;
  const retries = opts.retries ?? DOWNLOAD_DEFAULTS.retries;
  const delay = opts.retryDelayMs ?? DOWNLOAD_DEFAULTS.retryDelayMs;
  checkUrl(parseUrl(url), url, opts.allowedHosts, false);
  try {
    await makeDirs(path.dirname(dest));
  } catch (e) {
    throw writeError(e, dest, true);
  }
  // What killed downloads of this file left behind; only this process's own temps survive.
  await removeStale(await leftoversOf(dest));
  const part = opts.partFile ?? tempSibling(dest, 'download');
  const unpacked = opts.gunzip ? tempSibling(dest, 'tmp') : undefined;
  let body: Body | undefined;
  try {
    beforeStep('open', part);
    body = opts.partFile === undefined ? { handle: await open(part, 'wx+'), file: part, have: 0, total: undefined, validator: undefined } : await openPartFile(part);
    for (let attempt = 0; ; attempt++) {
      // Resuming is safe when the server can confirm the file is unchanged (If-Range), or when a
      // checksum will catch a body stitched from two versions.
      const resume = body.have > 0 && (body.validator !== undefined || opts.sha256 !== undefined);
      try {
        await fetchBody(url, body, resume, opts, maxBytes);
        break;
      } catch (e) {
        if (!retryable.has(e as object) || attempt >= retries) {
          if (attempt > 0 && e instanceof GraftError && e.code === 'NETWORK') throw new GraftError('NETWORK', `${e.message} (gave up after ${attempt + 1} attempts)`, { cause: e });
          throw e;
        }
        await sleep(delay * 2 ** attempt);
      }
    }
    await syncHandle(body.handle, part);
    await body.handle.close();
    body = undefined;
    const actual = await hashPayload(url, part, opts.gunzip ?? false, unpacked, maxBytes);
    if (opts.sha256 !== undefined && actual !== opts.sha256.toLowerCase()) {
      throw new GraftError(
        'CHECKSUM_MISMATCH',
        `Downloaded ${url} but its SHA-256${opts.gunzip ? ' (after decompression)' : ''} is ${actual}, expected ${opts.sha256}. The file was deleted. Retry; if it happens again the mirror serves a different file, so fetch it from another source.`,
      );
    }
    beforeStep('rename', dest);
    await rename(unpacked ?? part, dest);
  } catch (e) {
    await body?.handle.close().catch(() => undefined);
    // A kept part file survives only a dropped connection; wrong or unwritable bytes go.
    const keep = opts.partFile !== undefined && e instanceof GraftError && e.code === 'NETWORK';
    if (!keep) await rm(part, { force: true }).catch(() => undefined);
    if (unpacked !== undefined) await rm(unpacked, { force: true }).catch(() => undefined);
    throw downloadError(e, url, dest, [part, ...(unpacked === undefined ? [] : [unpacked])]);
  }
  await rm(part, { force: true }).catch(() => undefined);
  await fsyncDir(path.dirname(dest)).catch((e: unknown) => {
    throw writeError(e, dest);
  });
}

/** Opens (or creates) a kept part file; what it holds counts as the body's first bytes. */
async function openPartFile(part: string): Promise<Body> {
  const st = await lstat(part).catch((e: unknown) => {
    if (errorCode(e) === 'ENOENT') return undefined;
    throw e;
  });
  if (st !== undefined && !st.isFile()) throw new GraftError('WRITE_FAILED', `${part} is not a regular file, so graft cannot resume a download into it. Remove it and try again.`);
  const handle = await open(part, st === undefined ? 'wx+' : 'r+');
  return { handle, file: part, have: st?.size ?? 0, total: undefined, validator: undefined };
}

function downloadError(e: unknown, url: string, dest: string, temps: string[]): GraftError {
  if (e instanceof GraftError) return e;
  const code = errorCode(e);
  const at = (e as { path?: unknown } | null)?.path;
  if (at === dest || temps.includes(at as string) || code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS') return writeError(e, dest, true);
  if (code === 'Z_BUF_ERROR') return networkError(url, 'the downloaded gzip data ends early', e);
  if (code !== undefined && code.startsWith('Z_')) {
    return new GraftError('DATA_CORRUPT', `Download of ${url} is not valid gzip data (${(e as Error).message}). The mirror may serve a different file; fetch it another way.`, { cause: e });
  }
  return networkError(url, (e as Error | null)?.message || code || String(e), e);
}
