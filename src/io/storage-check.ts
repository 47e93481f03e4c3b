import { access, constants, statfs, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError } from '../errors.js';
import { errorCode, writeError } from './atomic.js';

/**
 * Checks, before training starts, that an output can be saved at the end: the nearest existing
 * folder on its path is writable and its disk has roughly `bytes` free. A full or read-only disk
 * found at save time would cost the whole training.
 */
export async function checkStorage(target: string, bytes: number): Promise<void> {
  let folder = path.dirname(path.resolve(target));
  for (;;) {
    try {
      if ((await stat(folder)).isDirectory()) break;
    } catch (e) {
      if (errorCode(e) !== 'ENOENT' && errorCode(e) !== 'ENOTDIR') throw writeError(e, target, true);
    }
    const up = path.dirname(folder);
    if (up === folder) return;
    folder = up;
  }
  try {
    // Root passes permission checks; a read-only file system still answers EROFS here.
    await access(folder, constants.W_OK);
  } catch (e) {
    throw writeError(e, target, true);
  }
  let free: number;
  try {
    const fs = await statfs(folder);
    free = Number(fs.bavail) * Number(fs.bsize);
  } catch {
    return; // Platforms without statfs: the save itself still reports a full disk clearly.
  }
  if (free < bytes) {
    const mb = (n: number): string => `${(n / 1024 ** 2).toFixed(n < 1024 ** 2 ? 2 : 0)} MB`;
    throw new GraftError('WRITE_FAILED', `Not enough free space to save ${target}: the disk holding ${folder} has ${mb(free)} free and the output needs about ${mb(bytes)}. Free some space, or choose another --out on a disk with room; nothing was trained or written.`);
  }
}
