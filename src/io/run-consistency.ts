import { createHash } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError } from '../errors.js';
import { errorCode } from './atomic.js';

/**
 * A --force save replaces a run folder by two renames, so a reader that opens run.json, then
 * model.json, then weights.bin can meet two different saves. run.json (the completion marker)
 * records the SHA-256 of the files saved with it; a reader hashes the bytes it actually used and
 * tries once more when they disagree or the folder was swapped under it.
 */

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).digest('hex');
}

/** Called by a loader with each file it read from the run folder and the bytes it used. */
export type ReadRecorder = (file: string, bytes: string | Uint8Array) => void;

export interface ConsistentRead<T> {
  value: T;
  /** run.json's `files`: what the other files must hash to. Absent for runs saved before it existed. */
  expected?: Record<string, string> | undefined;
  /** Frees `value` when it is thrown away for a retry. */
  dispose?: () => void;
}

/** Which folder is at `dir` now: a swap gives another inode, or the same number with another birth. */
async function identity(dir: string): Promise<string> {
  try {
    const st = await stat(dir, { bigint: true });
    return `${st.dev}:${st.ino}:${st.birthtimeNs}:${st.ctimeNs}`;
  } catch (e) {
    return `missing:${errorCode(e) ?? ''}`;
  }
}

/** Delay before the second attempt: a swap takes two renames, well under this. */
const RETRY_MS = 100;

/** Files read that disagree with run.json, by name. */
function mismatches(read: Map<string, string>, expected: Record<string, string> | undefined): string[] {
  if (!expected) return [];
  return [...read].filter(([name, hash]) => expected[name] !== hash).map(([name]) => name);
}

function asGraftError(e: unknown, dir: string): unknown {
  if (e instanceof GraftError || errorCode(e) === undefined) return e;
  const code = errorCode(e);
  if (code === 'ENOENT') return new GraftError('MODEL_NOT_FOUND', `${dir}: a file of the run vanished while it was read (${(e as Error).message}). If a graft --force save was replacing it, read it again once that has finished.`, { cause: e });
  return new GraftError('MODEL_CORRUPT', `${dir} cannot be read (${code}: ${(e as Error).message}). Check the folder and its permissions.`, { cause: e });
}

/** Runs `attempt` (which reads the run at `dir`, passing each file to the recorder) so that what it returns comes from one save. */
export async function readConsistently<T>(dir: string, attempt: (record: ReadRecorder) => Promise<ConsistentRead<T>>): Promise<T> {
  for (let tries = 1; ; tries++) {
    const before = await identity(dir);
    const read = new Map<string, string>();
    // Loaders may pass paths through the folder's real path (symlinks resolved).
    const bases = [path.resolve(dir), await realpath(dir).catch(() => path.resolve(dir))];
    const nameOf = (file: string): string => bases.map((b) => path.relative(b, path.resolve(file))).find((r) => !r.startsWith('..')) ?? file;
    const record: ReadRecorder = (file, bytes) => void read.set(nameOf(file), sha256Hex(bytes));
    let result: ConsistentRead<T>;
    try {
      result = await attempt(record);
    } catch (e) {
      // A failure while the folder was being swapped is the swap's doing: look again once.
      if (tries === 1 && (await identity(dir)) !== before) {
        await new Promise((r) => setTimeout(r, RETRY_MS));
        continue;
      }
      throw asGraftError(e, dir);
    }
    const wrong = mismatches(read, result.expected);
    // The hashes vouch for the content; only runs saved without them rely on the folder's identity.
    const consistent = result.expected ? wrong.length === 0 : (await identity(dir)) === before;
    if (consistent) return result.value;
    result.dispose?.();
    if (tries === 1) {
      await new Promise((r) => setTimeout(r, RETRY_MS));
      continue;
    }
    const what = wrong.length > 0 ? `${wrong.join(', ')} ${wrong.length === 1 ? 'belongs' : 'belong'} to another save than its run.json` : 'the folder was swapped for another save during the read';
    throw new GraftError('RUN_INCOMPLETE', `${dir} was replaced while it was read: ${what} (a graft --force save was writing it). Read it again once that save has finished.`);
  }
}
