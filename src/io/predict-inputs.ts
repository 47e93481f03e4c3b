import { constants } from 'node:fs';
import { lstat, open, readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError } from '../errors.js';
import { expandGlob, hasGlobMagic } from './glob.js';
import { statRegularFile, symlinkLoop, type ReadRegularFileOptions } from './regular-file.js';

/**
 * What `graft predict FILE|FOLDER|PATTERN…` names, as a flat list of files. A folder gives every
 * file in it and its subfolders at any depth, sorted by path; hidden names (".x") and symlinked
 * folders are not entered (so a link loop cannot trap the walk). A pattern is expanded by
 * glob.ts; each match is taken as if typed. What a file holds is decided later, from its bytes.
 */

export interface InputFile {
  file: string;
  /** The argument (folder or pattern) that produced it: a folder's non-images are skipped, not errors. */
  from: string;
  /** Found by walking a folder (not named directly or matched by a pattern). */
  listed: boolean;
}

export interface InputProblem {
  file: string;
  from: string;
  error: GraftError;
}

export type InputItem = InputFile | InputProblem;

async function walkFolder(dir: string, out: string[]): Promise<void> {
  let found;
  try {
    found = await readdir(dir, { withFileTypes: true });
  } catch {
    return; // an unreadable subfolder is named by the caller's empty-folder check when nothing else is found
  }
  for (const e of found) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await walkFolder(p, out);
    else out.push(p); // files, symlinks (to files or folders, never followed here), FIFOs: the reader judges
  }
}

async function listFolder(dir: string, from: string): Promise<InputItem[]> {
  try {
    await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return [{ file: dir, from, error: new GraftError('DATA_NOT_FOUND', `Cannot list folder ${dir} (${code}). Check its permissions.`) }];
  }
  const files: string[] = [];
  await walkFolder(dir, files);
  if (files.length === 0) return [{ file: dir, from, error: new GraftError('DATA_NOT_FOUND', `Folder ${dir} holds no files (hidden ones are not read). Put the images to predict in it.`) }];
  return files.sort().map((file) => ({ file, from, listed: true }));
}

async function resolveOne(arg: string): Promise<InputItem[]> {
  let st;
  try {
    st = await stat(arg);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return [{ file: arg, from: arg, error: symlinkLoop(arg, 'DATA_NOT_FOUND', 'an image, an IDX file or a folder') }];
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      return [{ file: arg, from: arg, error: new GraftError('DATA_NOT_FOUND', `Cannot read ${arg} (${code ?? (e as Error).message}). Check its permissions.`) }];
    }
    let dangling = false;
    try {
      dangling = (await lstat(arg)).isSymbolicLink();
    } catch {
      // nothing at all there
    }
    if (dangling) return [{ file: arg, from: arg, error: new GraftError('DATA_NOT_FOUND', `${arg} is a symbolic link to something that does not exist. Point it at an image, or pass the image itself.`) }];
    if (hasGlobMagic(arg)) return resolvePattern(arg);
    return [{ file: arg, from: arg, error: new GraftError('DATA_NOT_FOUND', `No file or folder at ${arg}. Check the path; quote a pattern ('photos/*.jpg') so that graft expands it.`) }];
  }
  if (st.isDirectory()) return listFolder(arg, arg);
  return [{ file: arg, from: arg, listed: false }];
}

async function resolvePattern(pattern: string): Promise<InputItem[]> {
  const matches = await expandGlob(pattern);
  const items: InputItem[] = [];
  for (const m of matches) {
    let isDir = false;
    try {
      isDir = (await stat(m)).isDirectory();
    } catch {
      // a broken link or a name gone meanwhile: the reader reports it
    }
    if (isDir) items.push(...(await listFolder(m, pattern)));
    else items.push({ file: m, from: pattern, listed: false });
  }
  if (items.length === 0) {
    return [{ file: pattern, from: pattern, error: new GraftError('DATA_NOT_FOUND', `No file matches the pattern ${pattern}. Check the folder and the pattern (* stays within a folder; **/ enters subfolders).`) }];
  }
  return items;
}

/** Every argument's files, in argument order; a file reached twice is taken once. */
export async function resolvePredictInputs(args: readonly string[]): Promise<InputItem[]> {
  const seen = new Set<string>();
  const out: InputItem[] = [];
  for (const arg of args) {
    for (const item of await resolveOne(arg)) {
      const key = path.resolve(item.file);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(item);
    }
  }
  return out;
}

/**
 * The first `n` bytes of a regular file, after statRegularFile's checks (no FIFO, device or
 * folder; not larger than opts.maxBytes). Opened non-blocking, so a FIFO swapped in cannot hang.
 */
export async function readFileHead(file: string, n: number, opts: ReadRegularFileOptions): Promise<Uint8Array> {
  const st = await statRegularFile(file, opts);
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(Math.min(n, st.size));
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
