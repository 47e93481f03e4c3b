import { constants, type Stats } from 'node:fs';
import { lstat, open, realpath, stat } from 'node:fs/promises';
import { GraftError, type GraftErrorCode } from '../errors.js';
import { READ_LIMITS } from './read-limits.js';

/**
 * Reading a user-given path safely. A FIFO named img.jpg blocks a plain readFile forever, and a
 * symlink to /dev/zero makes it grow memory without end; so every read site goes through here:
 * the path is stat'd (symlinks followed), anything but a regular file is refused before it is
 * opened, a file over the format's size limit is refused before it is read, and no more than the
 * stat'd size is ever read.
 */

// The size limits live in a pure module so in-memory readers (the browser entry) share them.
export { READ_LIMITS };

export interface ReadRegularFileOptions {
  /** Refuse a file larger than this, before reading it. */
  maxBytes: number;
  /** What the file should be, for the error's fix: "an image file", "a Keras model file". */
  expected: string;
  /** The code of every refusal from here (the caller's own "cannot read" code). */
  code: GraftErrorCode;
  /** The advice that ends a refusal. Default: "Pass <expected>." */
  fix?: string;
}

/** What a file-system entry is, in words (for messages about entries graft will not read or replace). */
export function describeFileType(st: Pick<Stats, 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice' | 'isDirectory' | 'isSymbolicLink' | 'isFile'>): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFile()) return 'a file';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a folder';
  return 'not a regular file';
}

/** "3 GiB (3221225472 bytes)", "256 MiB", "5 bytes". */
function sizeText(n: number, exact = false): string {
  const [unit, div] = n >= 2 ** 30 ? ['GiB', 2 ** 30] : n >= 2 ** 20 ? ['MiB', 2 ** 20] : ['bytes', 1];
  if (div === 1) return `${n} bytes`;
  const short = `${(n / div).toFixed(n % div === 0 ? 0 : 1)} ${unit}`;
  return exact ? `${short} (${n} bytes)` : short;
}

function refuse(file: string, st: Stats, opts: ReadRegularFileOptions, via: string): GraftError {
  const kind = describeFileType(st);
  const is = kind === 'not a regular file' ? 'is not a regular file' : `is ${kind}, not a regular file`;
  return new GraftError(opts.code, `${file}${via} ${is}; graft reads only regular files. ${opts.fix ?? `Pass ${opts.expected}.`}`);
}

/** The error for a path whose symlinks never end (stat's ELOOP). */
export function symlinkLoop(file: string, code: GraftErrorCode, expected: string): GraftError {
  return new GraftError(code, `${file} is a symbolic link loop (it resolves to itself); graft cannot read it. Point it at a real file: pass ${expected}.`);
}

/** " (a symbolic link to /dev/zero)" when `file` is a link, so the refusal names what it points at. */
async function linkNote(file: string): Promise<string> {
  try {
    if ((await lstat(file)).isSymbolicLink()) return ` (a symbolic link to ${await realpath(file)})`;
  } catch {
    // Gone meanwhile: the refusal still names the path.
  }
  return '';
}

/**
 * Stats `file` and checks that it is a regular file within `maxBytes`. Errors other than a symlink
 * loop (ENOENT, EACCES) are thrown as they are, so callers keep their own "not found" messages.
 */
export async function statRegularFile(file: string, opts: ReadRegularFileOptions): Promise<Stats> {
  let st: Stats;
  try {
    st = await stat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw symlinkLoop(file, opts.code, opts.expected);
    throw e;
  }
  if (!st.isFile()) throw refuse(file, st, opts, await linkNote(file));
  if (st.size > opts.maxBytes) {
    throw new GraftError(opts.code, `${file} is ${sizeText(st.size, true)}, more than the ${sizeText(opts.maxBytes)} graft reads for ${opts.expected.replace(/^(a|an) /, '')}. Pass ${opts.expected}; this looks like the wrong file.`);
  }
  return st;
}

/**
 * Reads `file` after statRegularFile's checks. It is opened non-blocking, so a FIFO swapped in
 * after the stat cannot hang the open; the open file is checked to be the one stat'd, and reading
 * stops at the stat'd size even if the file grows meanwhile.
 */
export async function readRegularFile(file: string, opts: ReadRegularFileOptions): Promise<Buffer> {
  const st = await statRegularFile(file, opts);
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const now = await handle.stat();
    if (!now.isFile()) throw refuse(file, now, opts, ' (replaced while opening)');
    if (now.ino !== st.ino || now.dev !== st.dev) {
      throw new GraftError(opts.code, `${file} was replaced by another file while graft opened it. Try again once nothing else is writing it.`);
    }
    const size = Math.min(st.size, now.size);
    const buf = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(buf, done, size - done, done);
      if (bytesRead === 0) break; // truncated meanwhile: the format's own checks see the short file
      done += bytesRead;
    }
    return done === size ? buf : buf.subarray(0, done);
  } finally {
    await handle.close();
  }
}

/**
 * Whether anything, even a dangling symlink or a FIFO, is at `p`. Scans use it so that a
 * non-file under an expected name is met by readRegularFile's clear refusal instead of being
 * taken for a missing file (and downloaded over).
 */
export async function isPresent(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}
