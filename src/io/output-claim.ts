import { lstat, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError } from '../errors.js';
import { errorCode, makeDirs, writeDirAtomic, writeError, writeFileAtomic } from './atomic.js';
import { fileWrittenByGraft, folderOwner, ownerMarker, OWNER_FILE, type OutputFileKind, type OutputKind } from './ownership.js';
import { protectedReason } from './protected-paths.js';
import { describeFileType } from './regular-file.js';

/**
 * The one gate every output passes before graft writes it: an existing output is kept unless
 * --force, and --force replaces only what graft wrote (ownership.ts), never a protected folder
 * (protected-paths.ts). Each check runs before any training, so a refused command changes nothing.
 */

export interface ClaimOptions {
  force: boolean;
  /** The flag or field that named the path, for messages: "--out", "--to", "out". */
  flag?: string;
  /** An experiment file: its folder and the folders above it are never replaced. */
  configFile?: string | undefined;
}


async function lstatOrUndefined(p: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
  try {
    return await lstat(p);
  } catch (e) {
    // ENOTDIR: a parent is a file; assertParentUsable names it.
    if (errorCode(e) === 'ENOENT' || errorCode(e) === 'ENOTDIR') return undefined;
    throw writeError(e, p, true);
  }
}

/** The nearest existing folder above `target` must be a folder: "a parent that is a file" is named as such. */
export async function assertParentUsable(target: string): Promise<void> {
  for (let p = path.dirname(path.resolve(target)); ; p = path.dirname(p)) {
    let st;
    try {
      st = await stat(p);
    } catch (e) {
      const code = errorCode(e);
      if (code === 'ENOENT') {
        if (path.dirname(p) === p) return;
        continue;
      }
      if (code === 'ENOTDIR') continue;
      throw writeError(e, target, true);
    }
    if (!st.isDirectory()) {
      throw new GraftError('WRITE_FAILED', `Cannot write ${target}: ${p} is ${describeFileType(st)}, not a folder. Choose a path whose parent folders are folders.`);
    }
    return;
  }
}

function refuse(target: string, what: string, o: ClaimOptions): GraftError {
  return new GraftError('OUTPUT_PROTECTED', `Refusing to replace ${target}: ${what}. --force replaces only outputs graft wrote; nothing was changed. Choose another ${o.flag ?? '--out'}, or move what is there yourself.`);
}

/** Throws unless --force may replace the existing folder `target` (it must exist). */
export async function assertFolderReplaceable(target: string, o: ClaimOptions): Promise<void> {
  const st = await lstat(target);
  if (!st.isDirectory()) throw refuse(target, `it is ${describeFileType(st)}, not a folder graft wrote`, o);
  const why = await protectedReason(target, { configFile: o.configFile });
  if (why) throw refuse(target, why, o);
  const owner = await folderOwner(target);
  if ('problem' in owner) throw refuse(target, owner.problem, o);
}

/**
 * Checks that a folder graft writes whole (a run, a TF.js export) may be written at `dir`: free,
 * or --force and graft's own. Call before training; writeOutputDir checks again when it writes.
 */
export async function claimOutputFolder(dir: string, o: ClaimOptions): Promise<void> {
  const st = await lstatOrUndefined(dir);
  if (!st) return assertParentUsable(dir);
  if (!o.force) throw new GraftError('OUTPUT_EXISTS', `Output ${dir} already exists; graft does not overwrite outputs. Pass --force to replace it (only if graft wrote it), or choose another ${o.flag ?? '--out'}.`);
  await assertFolderReplaceable(dir, o);
}

/** Writes the folder `dir` atomically with graft's marker; an existing one is replaced only under the rules above. */
export async function writeOutputDir(dir: string, kind: OutputKind, files: Record<string, Uint8Array | string>, o: ClaimOptions): Promise<void> {
  if (o.force && (await lstatOrUndefined(dir))) await assertFolderReplaceable(dir, o);
  await writeDirAtomic(dir, { [OWNER_FILE]: ownerMarker(kind), ...files }, { force: o.force });
}

/**
 * Checks that a single file (a report, a result JSON, a .keras export) may be written at `file`:
 * absent, or written by graft and --force given (or `replaceOwn`: a report regenerated in place).
 */
export async function claimOutputFile(file: string, kind: OutputFileKind, o: ClaimOptions & { replaceOwn?: boolean }): Promise<void> {
  const st = await lstatOrUndefined(file);
  if (!st) return assertParentUsable(file);
  if (!st.isFile()) throw refuse(file, `it is ${describeFileType(st)}`, o);
  const ours = await fileWrittenByGraft(file, kind);
  if (!o.force && !(o.replaceOwn && ours)) {
    throw new GraftError('OUTPUT_EXISTS', `${file} already exists${ours ? '' : ' (not written by graft)'}. ${ours ? 'Pass --force to replace it, or choose' : 'Choose'} another ${o.flag ?? 'path'}; nothing was changed.`);
  }
  if (!ours) throw refuse(file, 'it was not written by graft', o);
}

/**
 * Makes sure `dir` exists to receive graft's files (compare, sweep, layers and seed outputs). A
 * folder graft creates gets its marker; an existing folder is used as it is, its other files left
 * alone. With --force a protected folder is refused even though nothing in it would be replaced.
 */
export async function ensureOutputFolder(dir: string, kind: OutputKind, o: ClaimOptions): Promise<void> {
  if (o.force) {
    const why = await protectedReason(dir, { configFile: o.configFile });
    if (why) throw refuse(dir, why, o);
  }
  let st;
  try {
    st = await stat(dir);
  } catch (e) {
    if (errorCode(e) !== 'ENOENT') throw writeError(e, dir, true);
  }
  if (st) {
    if (!st.isDirectory()) throw new GraftError('WRITE_FAILED', `Cannot write into ${dir}: it is ${describeFileType(st)}, not a folder. Choose another ${o.flag ?? '--out'}.`);
    return;
  }
  await assertParentUsable(dir);
  try {
    await makeDirs(dir);
  } catch (e) {
    throw writeError(e, dir, true);
  }
  await writeFileAtomic(path.join(dir, OWNER_FILE), ownerMarker(kind));
}
