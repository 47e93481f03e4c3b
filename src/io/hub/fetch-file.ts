import { rmdir } from 'node:fs/promises';
import * as path from 'node:path';
import { downloadFile, DOWNLOAD_DEFAULTS } from '../download.js';

export interface FetchIntoCacheOptions {
  headers: Record<string, string>;
  sha256: string | undefined;
  size: number | undefined;
  /** The cache root: empty folders left by a failed download are removed up to it. */
  cacheDir: string;
  onProgress?: (bytes: number, total: number | undefined) => void;
  retries?: number;
  retryDelayMs?: number;
}

/**
 * Downloads `url` to `dest` through downloadFile: bytes collect in DEST.part, which a dropped
 * connection leaves for the next call to resume (Range) and wrong bytes remove; the SHA-256 is
 * checked when the hub gave one; `dest` appears only complete (atomic rename).
 */
export async function fetchIntoCache(url: string, dest: string, opts: FetchIntoCacheOptions): Promise<void> {
  try {
    await downloadFile(url, dest, {
      headers: opts.headers,
      partFile: `${dest}.part`,
      ...(opts.sha256 !== undefined && { sha256: opts.sha256 }),
      // The hub said how big the file is; a body larger than that is not the file.
      maxBytes: opts.size ?? DOWNLOAD_DEFAULTS.maxBytes,
      ...(opts.onProgress && { onProgress: opts.onProgress }),
      ...(opts.retries !== undefined && { retries: opts.retries }),
      ...(opts.retryDelayMs !== undefined && { retryDelayMs: opts.retryDelayMs }),
    });
  } catch (e) {
    await removeEmptyFolders(path.dirname(dest), opts.cacheDir);
    throw e;
  }
}

/** Removes `dir` and its parents while they are empty, stopping at `root` (kept). */
async function removeEmptyFolders(dir: string, root: string): Promise<void> {
  let current = path.resolve(dir);
  const top = path.resolve(root);
  while (current !== top && current.startsWith(top + path.sep)) {
    // rmdir refuses a folder that holds anything (a kept .part, another file): then stop.
    if (!(await rmdir(current).then(() => true, () => false))) return;
    current = path.dirname(current);
  }
}
