import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { writeFaults, type WriteStep } from '../../src/io/atomic.js';

/** The pid of a process that has exited, as a killed writer's would be. */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  if (r.pid === undefined) throw new Error('could not start a child to get a dead pid');
  return r.pid;
}

/** An error shaped like Node's file-system errors. */
export function fsError(code: string, file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected fault, ${file}`), { code, path: file });
}

/**
 * Makes the `nth` (1-based) write step of kind `step` whose path matches `match` fail with `code`,
 * as a full disk (ENOSPC), a read-only mount (EROFS) or a permission problem (EACCES) would.
 * Returns a function that removes the fault and says how many matching steps ran.
 */
export function injectFault(step: WriteStep, code: string, opts: { nth?: number; match?: (file: string) => boolean } = {}): () => number {
  let seen = 0;
  writeFaults.before = (s, file) => {
    if (s !== step || (opts.match && !opts.match(file))) return;
    seen++;
    if (seen === (opts.nth ?? 1)) throw fsError(code, file);
  };
  return () => {
    writeFaults.before = undefined;
    return seen;
  };
}

/** Every entry under `dir` (hidden ones too) → SHA-256 of its bytes, or "dir" for folders. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const key = path.relative(dir, p);
      if (e.isDirectory()) {
        out[key] = 'dir';
        await walk(p);
      } else out[key] = createHash('sha256').update(await readFile(p)).digest('hex');
    }
  };
  await walk(dir);
  return out;
}
