import { appendFile, readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { fingerprintDifference } from '../merge.js';
import type { ShardFingerprint, ShardKind } from '../shard.js';
import type { TrialDone } from './payload.js';

/**
 * The coordinator's local copy of every finished trial, one JSON line each, appended as results
 * arrive: if Redis goes away (or was restarted empty), a rerun of the same command starts from it.
 * The first line holds the study's fingerprint, so a file of another study is never reused.
 */

export function partialFileName(kind: ShardKind): string {
  return `${kind}.queue-partial.jsonl`;
}

interface Header {
  format: 'graft-queue-partial';
  fingerprint: ShardFingerprint;
}

interface Line<R> extends TrialDone<R> {
  index: number;
}

/** The finished trials recorded in `out` for this study (empty when there is no file); refuses a file of another study unless `force`. */
export async function readPartial<R>(out: string, kind: ShardKind, fingerprint: ShardFingerprint, force: boolean): Promise<Map<number, TrialDone<R>>> {
  const file = path.join(out, partialFileName(kind));
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  const done = new Map<number, TrialDone<R>>();
  if (text === undefined) return done;
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  let header: Partial<Header> | undefined;
  try {
    header = JSON.parse(lines[0] ?? '{}') as Partial<Header>;
  } catch {
    header = undefined;
  }
  const difference = header?.format === 'graft-queue-partial' ? fingerprintDifference(header.fingerprint, fingerprint) : 'not a graft partial file';
  if (difference !== undefined) {
    if (force) return done;
    throw new GraftError('OUTPUT_EXISTS', `${file} holds finished trials of another run (${difference}). Fix: use another --out, or --force to start this run afresh (the file is replaced).`);
  }
  for (const l of lines.slice(1)) {
    // A line cut short by a kill is skipped: that trial is collected from Redis or run again.
    try {
      const v = JSON.parse(l) as Line<R>;
      if (Number.isSafeInteger(v.index)) done.set(v.index, { result: v.result, worker: v.worker, seconds: v.seconds });
    } catch {
      continue;
    }
  }
  return done;
}

/** Starts the file afresh with this study's header, keeping the trials already read. */
export async function startPartial<R>(out: string, kind: ShardKind, fingerprint: ShardFingerprint, done: ReadonlyMap<number, TrialDone<R>>): Promise<string> {
  const file = path.join(out, partialFileName(kind));
  const header: Header = { format: 'graft-queue-partial', fingerprint };
  const lines = [JSON.stringify(header), ...[...done].map(([index, d]) => JSON.stringify({ index, ...d }))];
  await writeFileAtomic(file, `${lines.join('\n')}\n`);
  return file;
}

export async function appendPartial<R>(file: string, index: number, done: TrialDone<R>): Promise<void> {
  await appendFile(file, `${JSON.stringify({ index, ...done })}\n`);
}

export async function removePartial(file: string): Promise<void> {
  await rm(file, { force: true });
}
