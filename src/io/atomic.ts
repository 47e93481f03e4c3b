import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError } from '../errors.js';

/**
 * Atomic writes: data goes to a hidden temp sibling, is fsynced, then renamed into place and the
 * folder fsynced, so a crash, a kill or a full disk leaves either the old content or the new one,
 * never a half-written model. Temp names carry the writer's pid, so leftovers of a killed process
 * are recognisable: readers skip them (hidden names), writers delete them once their pid is gone.
 */

/** What a temp sibling is: a file or folder being written, an old folder moved aside, a download. */
export type TempTag = 'tmp' | 'old' | 'download';

/** `.<name>.<tag>-<pid>-<12 hex>`: see tempSibling. */
const TEMP_NAME = /^\.(.+)\.(tmp|old|download)-(\d+)-([0-9a-f]{12})$/;

/** Whether `name` is a temp sibling graft writes (see tempSibling). */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/** A unique hidden path next to `target` (same folder, so a rename cannot cross file systems). */
export function tempSibling(target: string, tag: TempTag): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.${tag}-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** A temp sibling found on disk. */
export interface Leftover {
  path: string;
  /** Its file name, e.g. ".run.tmp-123-0a1b2c3d4e5f". */
  name: string;
  /** The name of the file or folder it was written for. */
  target: string;
  tag: TempTag;
  pid: number;
  isDirectory: boolean;
  /** Its writer is gone: nothing will finish or delete it. */
  stale: boolean;
}

/** Whether `pid` still runs here. EPERM means it runs under another user. */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errorCode(e) === 'EPERM';
  }
}

/** Temp siblings in `dir`: all of them, or those written for the entry named `target`. */
export async function leftoversIn(dir: string, target?: string): Promise<Leftover[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: Leftover[] = [];
  for (const e of entries) {
    const m = TEMP_NAME.exec(e.name);
    if (!m || (target !== undefined && m[1] !== target)) continue;
    const pid = Number(m[3]);
    found.push({ path: path.join(dir, e.name), name: e.name, target: m[1]!, tag: m[2] as TempTag, pid, isDirectory: e.isDirectory(), stale: !processAlive(pid) });
  }
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Temp siblings of `target` (a file or folder path). */
export function leftoversOf(target: string): Promise<Leftover[]> {
  const resolved = path.resolve(target);
  return leftoversIn(path.dirname(resolved), path.basename(resolved));
}

/** Deletes the stale ones among `leftovers`; best effort, as they are only clutter. */
export async function removeStale(leftovers: readonly Leftover[]): Promise<void> {
  for (const l of leftovers) if (l.stale) await rm(l.path, { recursive: true, force: true }).catch(() => undefined);
}

/** The steps of a write that the test seam can fail. */
export type WriteStep = 'mkdir' | 'open' | 'write' | 'sync' | 'rename';

/**
 * Test seam, not API (index.ts does not export it): called before each step of every write.
 * Tests throw ENOSPC, EROFS or EACCES from it, because they run as root, for whom permissions never
 * fail, and cannot rely on a small disk to fill.
 */
export const writeFaults: { before?: (step: WriteStep, file: string) => void } = {};

/** Runs the seam for one step. */
export function beforeStep(step: WriteStep, file: string): void {
  writeFaults.before?.(step, file);
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

/**
 * Turns a file-system error into a GraftError that names the path and the fix. `unchanged`: the
 * failure came before the final rename, so whatever was at `target` is still there as it was.
 */
export function writeError(e: unknown, target: string, unchanged = false): GraftError {
  if (e instanceof GraftError) return e;
  const code = errorCode(e);
  const folder = path.dirname(path.resolve(target));
  let message: string;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      message = `Permission denied writing ${target}. Write somewhere you may (another --out), or fix the permissions of ${folder}.`;
      break;
    case 'EROFS':
      message = `Cannot write ${target}: ${folder} is on a read-only file system. Write to a writable disk instead (another --out).`;
      break;
    case 'ENOSPC':
    case 'EDQUOT':
      message = `Cannot write ${target}: no space left on the disk (or quota) holding ${folder}. Free some space, or write to another disk (another --out).`;
      break;
    case 'ENOENT':
      message = `Cannot write ${target}: folder ${folder} does not exist. Create it first or choose another path.`;
      break;
    case 'ENOTDIR':
      message = `Cannot write ${target}: a folder on its path (${folder} or above) is a file. Choose a path whose parent folders are folders.`;
      break;
    default:
      message = `Cannot write ${target} (${code ?? 'error'}: ${(e as Error | null)?.message ?? String(e)}). Check the path and try again.`;
  }
  if (unchanged) message += ` Nothing at ${target} was changed.`;
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

/** Most bytes handed to one write call; also how often the test seam can fail a large file. */
const WRITE_CHUNK = 1 << 20;

/** Writes all of `bytes` at `position`; a short write continues, it is never silently accepted. */
export async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    beforeStep('write', file);
    const { bytesWritten } = await handle.write(bytes, done, Math.min(WRITE_CHUNK, bytes.length - done), position + done);
    if (bytesWritten === 0) throw Object.assign(new Error(`no bytes written to ${file}`), { code: 'EIO' });
    done += bytesWritten;
  }
}

/** Flushes `handle` to the disk (through the seam). */
export async function syncHandle(handle: FileHandle, file: string): Promise<void> {
  beforeStep('sync', file);
  await handle.sync();
}

/** Creates `file` (which must not exist), writes `data` and fsyncs it. */
async function writeSynced(file: string, data: Uint8Array | string): Promise<void> {
  beforeStep('open', file);
  const handle = await open(file, 'wx');
  try {
    await writeAll(handle, typeof data === 'string' ? Buffer.from(data) : data, 0, file);
    await syncHandle(handle, file);
  } finally {
    await handle.close();
  }
}

/** mkdir -p that also fsyncs the parent of every folder it creates, so they survive a crash. */
export async function makeDirs(dir: string): Promise<void> {
  beforeStep('mkdir', dir);
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    await fsyncDir(path.dirname(d));
    if (d === path.resolve(first) || d === path.dirname(d)) break;
  }
}

/** Replaces `target` with `data` atomically; the folder must exist. */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempSibling(target, 'tmp');
  try {
    await writeSynced(tmp, data);
    beforeStep('rename', target);
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw writeError(e, target, true);
  }
  await fsyncDir(path.dirname(target)).catch((e: unknown) => {
    throw writeError(e, target);
  });
  await removeStale(await leftoversOf(target));
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
 * then the old one deleted. Between those two renames a kill leaves the old copy as a hidden
 * `.<name>.old-*` sibling rather than losing both; without force such a copy blocks the path.
 */
export async function writeDirAtomic(dir: string, files: Record<string, Uint8Array | string>, opts: { force: boolean }): Promise<void> {
  const target = path.resolve(dir);
  const names = Object.keys(files).map((n) => [n, checkFileName(dir, n)] as const);
  const before = await leftoversOf(target);
  if (!opts.force) {
    if (await exists(target)) throw outputExists(dir);
    const kept = before.find((l) => l.tag === 'old' && l.stale);
    if (kept) {
      throw new GraftError(
        'OUTPUT_EXISTS',
        `${dir} is half-finished: a --force replace was interrupted after moving the previous copy aside to ${kept.path}. Rerun with --force to replace it, or rename ${kept.path} back to ${dir} to keep the previous copy.`,
      );
    }
  }
  const parent = path.dirname(target);
  const tmp = tempSibling(target, 'tmp');
  try {
    await makeDirs(parent);
    beforeStep('mkdir', tmp);
    await mkdir(tmp);
    const folders = new Set<string>([tmp]);
    for (const [name, normal] of names) {
      const file = path.join(tmp, normal);
      const sub = path.dirname(file);
      if (!folders.has(sub)) {
        beforeStep('mkdir', sub);
        await mkdir(sub, { recursive: true });
        folders.add(sub);
      }
      await writeSynced(file, files[name]!);
    }
    for (const f of folders) await fsyncDir(f);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw writeError(e, dir, true);
  }

  let swapped = false;
  try {
    if (!(await exists(target))) {
      try {
        beforeStep('rename', target);
        await rename(tmp, target);
      } catch (e) {
        // Someone created `dir` since the check: keep theirs.
        const code = errorCode(e);
        throw code === 'ENOTEMPTY' || code === 'EEXIST' ? outputExists(dir) : e;
      }
    } else if (opts.force) {
      const old = tempSibling(target, 'old');
      beforeStep('rename', old);
      await rename(target, old);
      try {
        beforeStep('rename', target);
        await rename(tmp, target);
      } catch (e) {
        await rename(old, target).catch(() => undefined);
        throw e;
      }
      swapped = true;
      await fsyncDir(parent);
      // The new folder is in place; a failure to delete the old one only leaves a hidden sibling.
      await rm(old, { recursive: true, force: true }).catch(() => undefined);
    } else {
      throw outputExists(dir);
    }
    swapped = true;
    await fsyncDir(parent);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw writeError(e, dir, !swapped);
  }
  // The new copy is complete, so what killed writers left for this path is garbage now.
  await removeStale(before);
}
