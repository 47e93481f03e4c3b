import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError } from '../errors.js';
import type { SampleRows } from '../data/rows.js';
import { beforeStep, fsyncDir, leftoversIn, makeDirs, removeStale, syncHandle, tempSibling, writeAll, writeError } from './atomic.js';
import { corrupt, encodeCacheHeader, HASH_BYTES, MAGIC, MAX_HEADER_BYTES, parseCacheHeader, type DecodedImages, type SkippedInput } from './decode-cache.js';
import { fileRows } from './file-rows.js';

/**
 * The decode cache for image sets too large to hold: rows are written to disk as they are decoded
 * (never all in memory), and read back as SampleRows, a batch at a time. Same file layout as
 * decode-cache.ts, so either side reads what the other wrote.
 */

/** Decoded rows going to disk: the pixel block first (a temp file), the cache file at `finish`. */
export interface CacheRowWriter {
  append(row: Uint8Array): Promise<void>;
  /** Writes the cache file (header, the rows, labels, checksum) atomically; returns its path. */
  finish(meta: { labels: Int32Array; classNames: readonly string[]; sampleShape: readonly [number, number, number]; skipped?: readonly SkippedInput[] }): Promise<string>;
  /** Deletes what was written so far. */
  abort(): Promise<void>;
}

/** Bytes copied per step when the rows move into the cache file. */
const COPY_CHUNK = 4 * 1024 * 1024;

export async function createCacheRowWriter(dir: string, key: string): Promise<CacheRowWriter> {
  const file = path.join(dir, `${key}.bin`);
  try {
    await makeDirs(dir);
  } catch (e) {
    throw writeError(e, file, true);
  }
  const rowsTmp = tempSibling(path.join(dir, `${key}.rows`), 'tmp');
  beforeStep('open', rowsTmp);
  // Read back at finish: opened for both.
  const rows = await open(rowsTmp, 'wx+');
  let written = 0;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    await writeAll(rows, Buffer.concat(pending), written, rowsTmp);
    written += pendingBytes;
    pending = [];
    pendingBytes = 0;
  };
  const cleanup = async (): Promise<void> => {
    await rows.close().catch(() => undefined);
    await rm(rowsTmp, { force: true }).catch(() => undefined);
  };
  return {
    async append(row) {
      pending.push(row);
      pendingBytes += row.length;
      if (pendingBytes >= COPY_CHUNK) await flush();
    },
    async finish(meta) {
      const tmp = tempSibling(file, 'tmp');
      let out: FileHandle | undefined;
      try {
        await flush();
        const count = meta.labels.length;
        const header = encodeCacheHeader(count, meta);
        if (header.length > MAX_HEADER_BYTES) throw new GraftError('WRITE_FAILED', `Decode cache header for ${file} would be ${header.length} bytes, over ${MAX_HEADER_BYTES}.`, { userError: false });
        beforeStep('open', tmp);
        out = await open(tmp, 'wx');
        const hash = createHash('sha256');
        let at = 0;
        const put = async (bytes: Uint8Array): Promise<void> => {
          hash.update(bytes);
          await writeAll(out!, bytes, at, tmp);
          at += bytes.length;
        };
        const lead = Buffer.alloc(12);
        lead.write(MAGIC, 0, 'latin1');
        lead.writeUInt32LE(header.length, 8);
        await put(lead);
        await put(header);
        const chunk = Buffer.alloc(Math.min(COPY_CHUNK, Math.max(1, written)));
        for (let from = 0; from < written; from += chunk.length) {
          const { bytesRead } = await rows.read(chunk, 0, Math.min(chunk.length, written - from), from);
          await put(chunk.subarray(0, bytesRead));
        }
        const labels = Buffer.alloc(4 * count);
        for (let i = 0; i < count; i++) labels.writeInt32LE(meta.labels[i]!, 4 * i);
        await put(labels);
        // The checksum covers everything before it, not itself.
        await writeAll(out, hash.digest(), at, tmp);
        await syncHandle(out, tmp);
        await out.close();
        out = undefined;
        beforeStep('rename', file);
        await rename(tmp, file);
        await fsyncDir(dir);
      } catch (e) {
        await out?.close().catch(() => undefined);
        await rm(tmp, { force: true }).catch(() => undefined);
        throw writeError(e, file, true);
      } finally {
        await cleanup();
      }
      await removeStale(await leftoversIn(dir));
      return file;
    },
    abort: cleanup,
  };
}

/** A cache entry opened for reading rows: what the header says, the labels, and the rows on disk. */
export interface CacheRows extends Omit<DecodedImages, 'pixels'> {
  rows: SampleRows;
}

/** Verified entries by file identity: a process that loads one set several times (compare's trials) hashes it once. */
const opened = new Map<string, CacheRows>();

/**
 * Opens `<dir>/<key>.bin` for reading rows on demand; undefined when absent. The whole file is
 * checked (lengths, labels, SHA-256, read in chunks) through the descriptor the rows then read, so
 * what was checked is what training sees. A damaged entry is deleted, as readDecodeCache does.
 */
export async function openCacheRows(dir: string, key: string): Promise<CacheRows | undefined> {
  const file = path.join(dir, `${key}.bin`);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  const st = fstatSync(fd);
  const id = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  const known = opened.get(id);
  if (known) {
    closeSync(fd);
    return known;
  }
  try {
    if (!st.isFile()) throw corrupt(file, 'it is not a regular file');
    const entry = verify(fd, file, st.size);
    opened.set(id, entry);
    return entry;
  } catch (e) {
    closeSync(fd);
    if (!(e instanceof GraftError)) throw e;
    await rm(file, { force: true }).catch(() => undefined);
    return undefined;
  }
}

function readExact(fd: number, length: number, position: number, file: string): Buffer {
  const buf = Buffer.alloc(length);
  const got = readSync(fd, buf, 0, length, position);
  if (got !== length) throw corrupt(file, `it ended at byte ${position + got}, before the ${length} bytes expected there`);
  return buf;
}

function verify(fd: number, file: string, size: number): CacheRows {
  if (size < 12 + HASH_BYTES) throw corrupt(file, `it does not start with ${MAGIC}`);
  const lead = readExact(fd, 12, 0, file);
  if (lead.toString('latin1', 0, 8) !== MAGIC) throw corrupt(file, `it does not start with ${MAGIC}`);
  const headerLength = lead.readUInt32LE(8);
  if (headerLength > MAX_HEADER_BYTES) throw corrupt(file, `header length ${headerLength} does not fit in ${size} bytes`);
  const h = parseCacheHeader(headerLength, readExact(fd, Math.min(headerLength, size - 12), 12, file), size, file);
  if (size !== h.expected) throw corrupt(file, `header describes ${h.expected} bytes but the file has ${size}`);
  const body = size - HASH_BYTES;
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(Math.min(COPY_CHUNK, body));
  for (let at = 0; at < body; at += chunk.length) {
    const n = Math.min(chunk.length, body - at);
    const got = readSync(fd, chunk, 0, n, at);
    if (got !== n) throw corrupt(file, 'it ended early');
    hash.update(chunk.subarray(0, n));
  }
  if (!hash.digest().equals(readExact(fd, HASH_BYTES, body, file))) throw corrupt(file, 'its checksum does not match its content');
  const pixelsAt = 12 + headerLength;
  const labelBytes = readExact(fd, 4 * h.count, pixelsAt + h.pixelBytes, file);
  const labels = new Int32Array(h.count);
  for (let i = 0; i < h.count; i++) {
    const label = labelBytes.readInt32LE(4 * i);
    if (label < 0 || label >= h.classNames.length) throw corrupt(file, `label ${label} of image ${i} is outside 0..${h.classNames.length - 1}`);
    labels[i] = label;
  }
  const [ih, iw, ic] = h.sampleShape;
  return {
    labels,
    classNames: h.classNames,
    sampleShape: h.sampleShape,
    ...(h.skipped && { skipped: h.skipped }),
    rows: fileRows({ file, fd, offset: pixelsAt, count: h.count, size: ih * iw * ic }),
  };
}
