import { rm, stat } from 'node:fs/promises';
import { GraftError } from '../errors.js';
import { fitImage, toBytes, type ResizeMode } from '../data/image-convert.js';
import { type DecodedImages, type SkippedInput, decodeCacheDir, decodeCacheKey, readDecodeCache, writeDecodeCache } from './decode-cache.js';
import { decodeImage } from './image-decode.js';
import { createCacheRowWriter, openCacheRows, type CacheRows } from './decode-cache-stream.js';
import { READ_LIMITS, readRegularFile } from './regular-file.js';

/**
 * Decodes a list of image files, each fitted to one sample shape, before any training starts. A
 * file that cannot be read or decoded is skipped with its reason rather than failing the load:
 * one bad photo in a thousand must not cost the other 999 (nor crash an epoch later).
 */

export interface ImageSetInput {
  file: string;
  /** Index into `classNames`. */
  label: number;
}

export interface ImageSetOptions {
  height: number;
  width: number;
  /** 1 (luma) or 3 (RGB). Default: 1 when the first readable image is grey, else 3. */
  channels?: 1 | 3;
  resize: ResizeMode;
  /** Use graft's decode cache (see decode-cache.ts). Default true. */
  cache?: boolean;
  /** Default decodeCacheDir(env). */
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Called after each file (not on a cache hit). */
  onProgress?: (done: number, total: number) => void;
}

/** Files stat'ed at once for the cache key. */
const STAT_AHEAD = 256;
/** Images decoded at once; bounds open files and memory held by pending reads. */
const READ_AHEAD = 32;
/** Cache no set whose skipped list is longer than this as JSON (the cache header holds at most 1 MiB). */
const MAX_SKIPPED_JSON = 512 * 1024;
/** Longest reason kept per skipped file. */
const MAX_REASON = 200;

/** The problem part of a decoder/reader message, without the path it starts with or the advice after it. */
function reasonOf(e: unknown, file: string): string {
  if (!(e instanceof GraftError)) return `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  let m = e.message;
  if (m.startsWith(`${file}: `)) m = m.slice(file.length + 2);
  else if (m.startsWith(`${file} `)) m = m.slice(file.length + 1);
  const firstSentence = /^(.*?[^.])\.(\s|$)/.exec(m)?.[1] ?? m;
  return firstSentence.length > MAX_REASON ? `${firstSentence.slice(0, MAX_REASON - 1)}…` : firstSentence;
}

/** What decoding a set found: labels of the kept images (in input order), the skipped, the channels. */
interface DecodeOutcome {
  labels: number[];
  skipped: SkippedInput[];
  /** Some file could not even be read (permissions, a FIFO, a link loop), which no mtime records. */
  unreadable: boolean;
  channels: 1 | 3;
}

/** Decodes and fits every input, handing each kept image's bytes to `keep` in input order. */
async function decodeEach(inputs: readonly ImageSetInput[], opts: ImageSetOptions, keep: (row: Uint8Array) => void | Promise<void>): Promise<DecodeOutcome> {
  const { height: h, width: w, resize } = opts;
  let channels = opts.channels;
  const labels: number[] = [];
  const skipped: SkippedInput[] = [];
  let unreadable = false;
  let done = 0;
  for (let start = 0; start < inputs.length; start += READ_AHEAD) {
    const chunk = inputs.slice(start, start + READ_AHEAD);
    const read = await Promise.allSettled(chunk.map((f) => readRegularFile(f.file, { maxBytes: READ_LIMITS.image, expected: 'an image file', code: 'DATA_CORRUPT' })));
    for (let k = 0; k < chunk.length; k++) {
      const r = read[k]!;
      const input = chunk[k]!;
      let row: Uint8Array | undefined;
      try {
        if (r.status === 'rejected') throw r.reason;
        const img = decodeImage(r.value, input.file);
        channels ??= img.channels <= 2 ? 1 : 3;
        row = toBytes(fitImage(img, w, h, channels, resize).data);
      } catch (e) {
        // Any failure skips the file: a decoder's unexpected exception on odd bytes is still odd bytes.
        unreadable ||= r.status === 'rejected';
        skipped.push({ index: start + k, file: input.file, reason: reasonOf(e, input.file) });
      }
      if (row) {
        await keep(row);
        labels.push(input.label);
      }
      opts.onProgress?.(++done, inputs.length);
    }
  }
  return { labels, skipped, unreadable, channels: channels ?? 3 };
}

/**
 * Every input decoded and fitted, in memory; unreadable ones listed in `skipped` (in input order).
 * `unreadable`: some file could not even be read.
 */
export async function decodeImageSet(inputs: readonly ImageSetInput[], classNames: readonly string[], opts: ImageSetOptions): Promise<{ images: DecodedImages; unreadable: boolean }> {
  const kept: Uint8Array[] = [];
  const { labels, skipped, unreadable, channels } = await decodeEach(inputs, opts, (row) => void kept.push(row));
  const size = opts.height * opts.width * channels;
  const pixels = new Uint8Array(kept.length * size);
  kept.forEach((p, i) => pixels.set(p, i * size));
  return { images: { pixels, labels: Int32Array.from(labels), classNames: [...classNames], sampleShape: [opts.height, opts.width, channels], skipped }, unreadable };
}

/**
 * decodeImageSet through the decode cache: the key covers every file's path, label, position,
 * size and mtime and the fit options, so an edited, added or relabelled image decodes again.
 */
/** The cache key: every file's path, label, position, size and mtime, and the fit options. */
async function cacheKeyOf(inputs: readonly ImageSetInput[], classNames: readonly string[], opts: ImageSetOptions): Promise<string> {
  // A bounded number of stats in flight: 50,000 at once held ~200 MB of pending requests.
  const keyed: Array<{ path: string; size: number; mtimeMs: number }> = [];
  for (let start = 0; start < inputs.length; start += STAT_AHEAD) {
    const chunk = inputs.slice(start, start + STAT_AHEAD);
    const stats = await Promise.all(chunk.map((f) => stat(f.file).catch(() => undefined)));
    chunk.forEach((f, k) => keyed.push({ path: `${start + k}\t${f.label}\t${f.file}`, size: stats[k]?.size ?? -1, mtimeMs: stats[k]?.mtimeMs ?? -1 }));
  }
  return decodeCacheKey(keyed, { loader: 'image-set 1', classNames, height: opts.height, width: opts.width, channels: opts.channels ?? null, resize: opts.resize });
}

export async function loadImageSet(inputs: readonly ImageSetInput[], classNames: readonly string[], opts: ImageSetOptions): Promise<DecodedImages> {
  if (opts.cache === false) return (await decodeImageSet(inputs, classNames, opts)).images;
  const key = await cacheKeyOf(inputs, classNames, opts);
  const dir = opts.cacheDir ?? decodeCacheDir(opts.env);
  const cached = await readDecodeCache(dir, key).catch(() => undefined);
  if (cached && cached.labels.length + (cached.skipped?.length ?? 0) === inputs.length) return cached;
  const { images, unreadable } = await decodeImageSet(inputs, classNames, opts);
  // Skips of unreadable files are not cached: fixing a permission changes no mtime.
  // The cache only saves time: a folder that cannot be written must not fail the load.
  // A header listing tens of thousands of skips would pass the cache's header limit; decode again instead.
  const listable = JSON.stringify(images.skipped ?? []).length < MAX_SKIPPED_JSON;
  if (!unreadable && listable) await writeDecodeCache(dir, key, images).catch(() => undefined);
  return images;
}

/**
 * The set decoded once into the decode cache and read back a batch at a time (SampleRows), for
 * sets too large to hold: rows go to disk as they are decoded, so neither decoding nor training
 * holds the set. Undefined when the cache folder cannot be written (the caller decodes in memory).
 */
export async function loadImageSetRows(inputs: readonly ImageSetInput[], classNames: readonly string[], opts: ImageSetOptions): Promise<CacheRows | undefined> {
  const key = await cacheKeyOf(inputs, classNames, opts);
  const dir = opts.cacheDir ?? decodeCacheDir(opts.env);
  const hit = await openCacheRows(dir, key);
  if (hit && hit.labels.length + (hit.skipped?.length ?? 0) === inputs.length) return hit;
  let writer;
  try {
    writer = await createCacheRowWriter(dir, key);
  } catch {
    return undefined;
  }
  let outcome: DecodeOutcome;
  try {
    outcome = await decodeEach(inputs, opts, (row) => writer.append(row));
  } catch (e) {
    await writer.abort();
    throw e;
  }
  const { labels, skipped, unreadable, channels } = outcome;
  let file: string;
  try {
    file = await writer.finish({ labels: Int32Array.from(labels), classNames: [...classNames], sampleShape: [opts.height, opts.width, channels], skipped });
  } catch {
    return undefined;
  }
  const rows = await openCacheRows(dir, key);
  // Skips of unreadable files must not be remembered (fixing a permission changes no mtime): the
  // entry is removed now; the open descriptor keeps reading it until this process ends.
  if (unreadable) await rm(file, { force: true }).catch(() => undefined);
  return rows;
}
