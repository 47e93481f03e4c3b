import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError } from '../errors.js';
import type { CompareResult, Trial } from '../evaluate/compare-result.js';
import { writeFileAtomic } from '../io/atomic.js';
import { claimStudyOutput } from '../io/study-output.js';
import { buildResult, type ComparePlan } from './compare.js';
import { buildLayersResult, type LayersPlan, type LayersResult } from './layers.js';
import { SHARD_FILE_PATTERN, SHARD_KINDS, shardFileName, type ShardFile, type ShardFingerprint, type ShardKind } from './shard.js';
import { buildSweepResult, type SweepPlan, type SweepResult, type SweepRunTrial } from './sweep.js';

/**
 * `graft merge`: joins the shard files of one study into the result file a single machine would
 * have written. Every check (one plan, one N, each K once) runs before anything is written.
 */

export interface MergeOptions {
  /** Shard files, or folders holding them. */
  inputs: string[];
  /** Folder for the result and report. Default: the folder of the first shard file. */
  out?: string;
  /** Replace a result file graft wrote there. Default false. */
  force?: boolean;
}

/** What was merged: the result as the single-machine command writes it, and the shard files, in K order. */
type Merged = { kind: 'compare'; result: CompareResult } | { kind: 'layers'; result: LayersResult } | { kind: 'sweep'; result: SweepResult };
export type MergeSummary = { out: string; file: string; shards: string[] } & Merged;

interface ReadShard {
  file: string;
  content: ShardFile<unknown>;
}

/** The shard files named by `inputs` (folders contribute every *.shard-K-of-N.json inside). */
export async function findShardFiles(inputs: readonly string[]): Promise<string[]> {
  if (inputs.length === 0) throw new GraftError('BAD_ARGUMENT', 'graft merge needs at least one folder or shard file; received none. Fix: graft merge runs/compare.');
  const files: string[] = [];
  for (const input of inputs) {
    const st = await stat(input).catch(() => undefined);
    if (!st) throw new GraftError('BAD_ARGUMENT', `${input} does not exist. Pass the folders the shards wrote (their --out), or the shard files.`);
    if (st.isDirectory()) {
      const names = (await readdir(input)).filter((n) => SHARD_FILE_PATTERN.test(n)).sort();
      if (names.length === 0) throw new GraftError('BAD_ARGUMENT', `${input} holds no shard files (KIND.shard-K-of-N.json). Pass the folder the shards wrote (their --out).`);
      files.push(...names.map((n) => path.join(input, n)));
    } else files.push(input);
  }
  // The same file named twice (a folder and a file in it) is one shard, not a duplicate.
  return [...new Set(files.map((f) => path.resolve(f)))];
}

async function readShard(file: string): Promise<ReadShard> {
  let v: unknown;
  try {
    v = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new GraftError('BAD_ARGUMENT', `${file} is not a readable JSON shard file (${(e as Error).message}). Rerun that shard.`);
  }
  const c = v as Partial<ShardFile<unknown>> | null;
  const ok = c !== null && typeof c === 'object' && c.format === 'graft-shard' && SHARD_KINDS.includes(c.kind as ShardKind) && Number.isSafeInteger(c.shard?.index) && Number.isSafeInteger(c.shard?.count) && typeof c.fingerprint === 'object' && c.fingerprint !== null && Array.isArray(c.results) && Number.isSafeInteger(c.total);
  if (!ok) throw new GraftError('BAD_ARGUMENT', `${file} is not a graft shard file (format "graft-shard" with kind, shard, fingerprint and results). Pass only the files \`--shard\` wrote.`);
  return { file, content: c as ShardFile<unknown> };
}

/** "plan.seeds: [0,1] vs [0,1,2]" for the first field where two fingerprints differ, or undefined. */
export function fingerprintDifference(a: unknown, b: unknown, at = ''): string | undefined {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    for (const k of [...new Set([...Object.keys(ra), ...Object.keys(rb)])]) {
      const d = fingerprintDifference(ra[k], rb[k], at ? `${at}.${k}` : k);
      if (d) return d;
    }
    return undefined;
  }
  const ja = JSON.stringify(a) ?? 'absent';
  const jb = JSON.stringify(b) ?? 'absent';
  return ja === jb ? undefined : `${at}: ${short(ja)} vs ${short(jb)}`;
}

function short(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

/** Throws unless the shards are exactly 1..N of one N and one plan; returns them in K order. */
export function checkShards(shards: readonly ReadShard[]): ReadShard[] {
  const first = shards[0];
  if (!first) throw new GraftError('BAD_ARGUMENT', 'graft merge found no shard files. Pass the folders the shards wrote (their --out).');
  const n = first.content.shard.count;
  for (const s of shards.slice(1)) {
    if (s.content.shard.count !== n) {
      throw new GraftError('BAD_ARGUMENT', `${s.file} is shard ${s.content.shard.index} of ${s.content.shard.count}, but ${first.file} is of ${n}: shards of different N are never mixed. Merge the files of one run (one --shard K/N with the same N).`);
    }
    const d = fingerprintDifference(first.content.fingerprint, s.content.fingerprint);
    if (d) throw new GraftError('BAD_ARGUMENT', `${s.file} and ${first.file} are shards of different runs (${d}). Merge only the shards of one run; nothing was written.`);
  }
  const byIndex = new Map<number, ReadShard>();
  for (const s of shards) {
    const k = s.content.shard.index;
    const seen = byIndex.get(k);
    if (seen) throw new GraftError('BAD_ARGUMENT', `shard ${k} of ${n} appears twice: ${seen.file} and ${s.file}. Keep one of them; nothing was written.`);
    byIndex.set(k, s);
  }
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((k) => !byIndex.has(k));
  if (missing.length > 0) {
    const kind = first.content.kind;
    throw new GraftError(
      'RUN_INCOMPLETE',
      `${missing.length === 1 ? 'shard' : 'shards'} ${missing.join(', ')} of ${n} ${missing.length === 1 ? 'is' : 'are'} missing (${missing.map((k) => shardFileName(kind, { index: k, count: n })).join(', ')}). Run --shard ${missing[0]}/${n} (or wait for it to finish), then merge again; nothing was written.`,
    );
  }
  return [...byIndex.values()].sort((a, b) => a.content.shard.index - b.content.shard.index);
}

/** Every plan index exactly once, in plan order. */
function resultsInOrder<R>(shards: readonly ReadShard[]): R[] {
  const total = shards[0]!.content.total;
  const out = new Map<number, R>();
  for (const s of shards) {
    for (const r of s.content.results) {
      if (!Number.isSafeInteger(r.index) || r.index < 0 || r.index >= total || out.has(r.index)) {
        throw new GraftError('BAD_ARGUMENT', `${s.file} holds trial ${r.index}, ${out.has(r.index) ? 'which another shard holds too' : `outside the plan's 0..${total - 1}`}. Rerun that shard; nothing was written.`);
      }
      out.set(r.index, r.result as R);
    }
  }
  const missing = Array.from({ length: total }, (_, i) => i).filter((i) => !out.has(i));
  if (missing.length > 0) throw new GraftError('RUN_INCOMPLETE', `trials ${missing.join(', ')} of ${total} are in no shard. Rerun the shards; nothing was written.`);
  return Array.from({ length: total }, (_, i) => out.get(i)!);
}

function compareResultOf(shards: readonly ReadShard[]): CompareResult {
  const first = shards[0]!.content;
  const fp: ShardFingerprint = first.fingerprint;
  const pairs = resultsInOrder<[Trial, Trial]>(shards);
  // Machine time: the shards ran side by side, so their sum is what the study cost.
  const seconds = shards.reduce((a, s) => a + s.content.seconds, 0);
  return { ...buildResult(fp.plan as ComparePlan, pairs.flat(), first.sourceLocation, seconds, first.classNames), backend: fp.backend };
}

function sweepResultOf(shards: readonly ReadShard[]): SweepResult {
  const first = shards[0]!.content;
  const fp: ShardFingerprint = first.fingerprint;
  return buildSweepResult(fp.plan as SweepPlan, resultsInOrder<SweepRunTrial>(shards), { task: fp.task, source: first.sourceLocation, classWeights: first.classWeights, backend: fp.backend });
}

const RESULT_FILE: Record<ShardKind, string> = { compare: 'compare.json', layers: 'layers.json', sweep: 'sweep.json' };

/** Reads, checks and merges the shards; writes the result file (the caller writes the report). */
export async function mergeShards(o: MergeOptions): Promise<MergeSummary> {
  const files = await findShardFiles(o.inputs);
  const shards = checkShards(await Promise.all(files.map(readShard)));
  const first = shards[0]!;
  const kind = first.content.kind;
  const fp = first.content.fingerprint;
  const merged: Merged =
    kind === 'compare'
      ? { kind, result: compareResultOf(shards) }
      : kind === 'sweep'
        ? { kind, result: sweepResultOf(shards) }
        : { kind, result: buildLayersResult(fp.plan as LayersPlan, resultsInOrder<number>(shards), first.content.sourceLocation, fp.backend) };
  const out = o.out ?? path.dirname(first.file);
  const file = path.join(out, RESULT_FILE[kind]);
  await claimStudyOutput(out, kind, file, { force: o.force ?? false });
  await writeFileAtomic(file, `${JSON.stringify(merged.result, null, 2)}\n`);
  return { ...merged, out, file, shards: shards.map((s) => s.file) };
}
