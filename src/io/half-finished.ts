import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError } from '../errors.js';
import { type Leftover, leftoversIn, leftoversOf } from './atomic.js';
import { exists } from './exists.js';
import { interruptedRun } from './checkpoint-dir.js';

/**
 * Recognises run directories that a killed or failed save left unfinished, so every command can
 * say so instead of failing on a missing or unparsable file. graft writes a run folder under a
 * temp name and renames it into place (atomic.ts), so what a kill can leave is: the folder missing
 * with a `.<name>.tmp-*` partial copy beside it; during a --force replace, the previous run moved
 * aside as `.<name>.old-*`; or a complete previous run beside a partial new copy. A folder that
 * lacks run.json (the completion marker: graft writes it with the rest in one rename) while
 * holding other run files was made some other way (copied, synced) and is incomplete too.
 */

/** A run folder that is not (yet) complete. */
export interface HalfFinished {
  /** The run folder, as given. */
  dir: string;
  /** What is missing or left over, in words. */
  problem: string;
  /** Another way out besides rerunning, e.g. where the previous run was kept. */
  alternative?: string;
  /** A live graft process is writing it right now (its pid). */
  writer?: number;
  /** An interrupted run (Ctrl-C, SIGTERM): the command that resumes it. */
  resume?: string;
}

const RUN_FILE = 'run.json';
/** What graft writes into every run folder besides run.json. */
const RUN_PARTS = ['model.json', 'weights.bin', 'history.jsonl'] as const;

const rel = (l: Leftover): string => l.name;

/**
 * Whether `location` (a run folder, or the model.json / run.json inside one) is a half-finished
 * run. Undefined for complete runs, for other models (plain TF.js folders, Keras files) and for
 * paths where nothing was ever written: the loader reports those itself.
 */
export async function findHalfFinishedRun(location: string): Promise<HalfFinished | undefined> {
  const base = path.basename(location);
  const given = base === 'model.json' || base === RUN_FILE ? path.dirname(location) : location;
  const dir = given === '' ? '.' : given;
  // Folder leftovers only: a file's temp (e.g. .report.html.tmp-*) says nothing about a run.
  const leftovers = (await leftoversOf(dir)).filter((l) => l.isDirectory && l.tag !== 'download');
  const live = leftovers.find((l) => !l.stale && l.tag === 'tmp');
  const staleTmp = leftovers.find((l) => l.stale && l.tag === 'tmp');
  const staleOld = leftovers.find((l) => l.stale && l.tag === 'old');
  let st;
  try {
    st = await stat(dir);
  } catch {
    st = undefined;
  }

  if (!st) {
    if (live) return { dir, writer: live.pid, problem: `graft process ${live.pid} is still writing it into ${rel(live)}` };
    if (staleOld) {
      return {
        dir,
        problem: `a --force replace was interrupted after moving the previous run aside: ${dir} is missing, the previous run is in ${rel(staleOld)}${staleTmp ? `, the unfinished new one in ${rel(staleTmp)}` : ''}`,
        alternative: `To keep the previous run instead, rename ${staleOld.path} back to ${dir}.`,
      };
    }
    if (staleTmp) return { dir, problem: `its save was interrupted: ${dir} is missing and ${rel(staleTmp)} beside it holds a partial copy without the completion marker ${RUN_FILE}` };
    return undefined;
  }
  if (!st.isDirectory()) return undefined;
  // Stopped on purpose, with a checkpoint: resumable, unlike the leftovers below.
  const stopped = await interruptedRun(dir);
  if (stopped) return { dir, problem: stopped.problem, ...(stopped.resume && { resume: stopped.resume, alternative: `Or resume it: \`${stopped.resume}\`.` }) };

  const has = async (name: string): Promise<boolean> => exists(path.join(dir, name));
  const hasRun = await has(RUN_FILE);
  const parts = await Promise.all(RUN_PARTS.map(async (p) => [p, await has(p)] as const));
  const present = parts.filter(([, ok]) => ok).map(([p]) => p);
  // history.jsonl is written only into run folders, so with it run.json must be there too; a
  // model.json alone is an ordinary TF.js model folder (e.g. from graft export).
  const isRun = hasRun || present.includes('history.jsonl');
  if (isRun) {
    const missing = [...(hasRun ? [] : [RUN_FILE]), ...parts.filter(([p, ok]) => !ok && p !== 'history.jsonl').map(([p]) => p)];
    if (missing.length > 0) {
      return { dir, problem: `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing${staleTmp ? `, and ${rel(staleTmp)} beside it is a partial copy from an interrupted save` : ''}` };
    }
  }
  if (staleTmp) {
    return {
      dir,
      problem: `a --force save meant to replace it was interrupted: ${rel(staleTmp)} beside it is the partial new run, and ${dir} still holds the previous one`,
      alternative: `To use the previous run, delete ${staleTmp.path}.`,
    };
  }
  return undefined;
}

/**
 * Half-finished runs at `dir` and, when `dir` is a folder of runs (runs/seed, a compare folder),
 * in its immediate sub-folders, including sub-runs that exist only as temp siblings.
 */
export async function findHalfFinishedRuns(dir: string): Promise<HalfFinished[]> {
  const self = await findHalfFinishedRun(dir);
  if (self) return [self];
  if (await exists(path.join(dir, RUN_FILE))) return [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const names = new Set(entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name));
  for (const l of await leftoversIn(dir)) if (l.isDirectory && l.tag !== 'download') names.add(l.target);
  const found: HalfFinished[] = [];
  for (const n of [...names].sort()) {
    const h = await findHalfFinishedRun(path.join(dir, n));
    if (h) found.push(h);
  }
  return found;
}

/** The error readers throw for a half-finished run (code RUN_INCOMPLETE). */
export function halfFinishedError(h: HalfFinished, others: readonly HalfFinished[] = []): GraftError {
  const also = others.length > 0 ? ` Also half-finished: ${others.map((o) => o.dir).join(', ')}.` : '';
  if (h.resume !== undefined) return new GraftError('RUN_INTERRUPTED', `Interrupted run at ${h.dir} (${h.problem}). Resume it with \`${h.resume}\`, or start over with --force.${also}`);
  if (h.writer !== undefined) {
    return new GraftError('RUN_INCOMPLETE', `Run at ${h.dir} is not finished yet: ${h.problem}. Wait for that process to finish; if it hangs, stop it and rerun with --force.${also}`);
  }
  return new GraftError('RUN_INCOMPLETE', `Half-finished run at ${h.dir} (${h.problem}); rerun with --force the graft command that wrote it.${h.alternative ? ` ${h.alternative}` : ''}${also}`);
}

/** Throws RUN_INCOMPLETE when `location` is a half-finished run. */
export async function assertRunFinished(location: string): Promise<void> {
  const h = await findHalfFinishedRun(location);
  if (h) throw halfFinishedError(h);
}

/** Throws RUN_INCOMPLETE when `dir` or a run folder inside it is half-finished. */
export async function assertRunsFinished(dir: string): Promise<void> {
  const [first, ...others] = await findHalfFinishedRuns(dir);
  if (first) throw halfFinishedError(first, others);
}
