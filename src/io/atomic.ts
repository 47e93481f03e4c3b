import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError } from '../errors.js';

/**
 * Atomic writes: data goes to a hidden temp sibling, is fsynced, then renamed into place, so a crash
 * or a full disk leaves either the old content or the new one, never a half-written model.
 */

/** A unique hidden path next to `target` (same folder, so a rename cannot cross file systems). */
export function tempSibling(target: string, tag: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.${tag}-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** Makes a rename inside `dir` durable. Some platforms cannot fsync a folder; that is not an error. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (e) {
    const code = errorCode(e);
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF' && code !== 'EACCES') throw e;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

export function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Turns a file-system error into a GraftError that names the path and the fix. */
export function writeError(e: unknown, target: string): GraftError {
  if (e instanceof GraftError) return e;
  const code = errorCode(e);
  const folder = path.dirname(path.resolve(target));
  let message: string;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      message = `Permission denied writing ${target}. Choose a folder you can write to, or fix the permissions of ${folder}.`;
      break;
    case 'EROFS':
      message = `Cannot write ${target}: ${folder} is on a read-only file system. Choose an output path on a writable disk.`;
      break;
    case 'ENOSPC':
    case 'EDQUOT':
      message = `Cannot write ${target}: no space left on the disk (or quota) holding ${folder}. Free some space or choose another path.`;
      break;
    case 'ENOENT':
    case 'ENOTDIR':
      message = `Cannot write ${target}: folder ${folder} does not exist. Create it first or choose another path.`;
      break;
    default:
      message = `Cannot write ${target} (${code ?? 'error'}: ${(e as Error | null)?.message ?? String(e)}). Check the path and try again.`;
  }
  return new GraftError('WRITE_FAILED', message, { cause: e });
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return false;
    throw writeError(e, p);
  }
}

async function writeSynced(file: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `target` with `data` atomically; the folder must exist. */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempSibling(target, 'tmp');
  try {
    await writeSynced(tmp, data);
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw writeError(e, target);
  }
  await fsyncDir(path.dirname(target)).catch((e: unknown) => {
    throw writeError(e, target);
  });
}

function checkFileName(dir: string, name: string): string {
  const normal = path.normalize(name);
  if (name === '' || name.includes('\0') || path.isAbsolute(name) || normal === '.' || normal.split(/[\\/]/)[0] === '..') {
    throw new GraftError('BAD_ARGUMENT', `Cannot write ${JSON.stringify(name)} into ${dir}: file names must be relative paths inside the folder. Use names like "model.json" or "sub/file.bin".`);
  }
  return normal;
}

function outputExists(dir: string): GraftError {
  return new GraftError('OUTPUT_EXISTS', `Output folder ${dir} already exists; graft left it untouched. Pass --force to replace it, or choose another path.`);
}

/**
 * Writes `files` (relative name → content) as the folder `dir` in one step. An existing `dir` is
 * kept unless `force`; with force the old folder is renamed aside, the new one moved in, and only
 * then the old one deleted. Between those two renames a crash leaves the old copy as a hidden
 * `.<name>.old-*` sibling rather than losing both.
 */
export async function writeDirAtomic(dir: string, files: Record<string, Uint8Array | string>, opts: { force: boolean }): Promise<void> {
  const target = path.resolve(dir);
  const names = Object.keys(files).map((n) => [n, checkFileName(dir, n)] as const);
  if (!opts.force && (await exists(target))) throw outputExists(dir);
  const parent = path.dirname(target);
  const tmp = tempSibling(target, 'tmp');
  try {
    await mkdir(parent, { recursive: true });
    await mkdir(tmp);
    const folders = new Set<string>([tmp]);
    for (const [name, normal] of names) {
      const file = path.join(tmp, normal);
      const sub = path.dirname(file);
      if (!folders.has(sub)) {
        await mkdir(sub, { recursive: true });
        folders.add(sub);
      }
      await writeSynced(file, files[name]!);
    }
    for (const f of folders) await fsyncDir(f);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw writeError(e, dir);
  }

  try {
    if (!(await exists(target))) {
      try {
        await rename(tmp, target);
      } catch (e) {
        // Someone created `dir` since the check: keep theirs.
        const code = errorCode(e);
        throw code === 'ENOTEMPTY' || code === 'EEXIST' ? outputExists(dir) : e;
      }
    } else if (opts.force) {
      const old = tempSibling(target, 'old');
      await rename(target, old);
      try {
        await rename(tmp, target);
      } catch (e) {
        await rename(old, target).catch(() => undefined);
        throw e;
      }
      await fsyncDir(parent);
      // The new folder is in place; a failure to delete the old one only leaves a hidden sibling.
      await rm(old, { recursive: true, force: true }).catch(() => undefined);
    } else {
      throw outputExists(dir);
    }
    await fsyncDir(parent);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw writeError(e, dir);
  }
}
