import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { activeBackend } from '../engine/backend.js';
import { engineFromEnv } from '../engine/engine-choice.js';
import { GraftError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { writeFileAtomic } from '../io/atomic.js';
import { claimOutputFile, ensureOutputFolder } from '../io/output-claim.js';
import { toTfjsFiles } from '../io/tfjs-format.js';
import { GRAFT_VERSION } from '../version.js';
import type { Trial } from '../evaluate/compare-result.js';
import { planCompare, planData, trialKeys, type CompareOptions } from './compare.js';
import { runComparePairs, type ParallelOptions } from './compare-parallel.js';
import { prepareTask } from './prepare.js';
import { layersTrialKeys, planLayers, runLayersTrials, type LayersOptions } from './layers.js';
import { planSweep, prepareSweep, runSweepTrials, sweepClassWeights, type SweepOptions, type SweepRunTrial } from './sweep.js';

/**
 * Shards for batch schedulers (Kubernetes Indexed Jobs, Slurm arrays): the K-th of N machines runs
 * a fixed share of a study's trials and writes them to a shard file; `graft merge` joins the N
 * files. The plan is built before any trial runs and every trial is seeded, so a share is a pure
 * function of the plan and the merged result equals a single-machine run's.
 */

/** The K-th (1-based) of N shares. */
export interface Shard {
  index: number;
  count: number;
}

/** Studies that can be sharded. */
export type ShardKind = 'compare' | 'layers' | 'sweep';

export const SHARD_KINDS: readonly ShardKind[] = ['compare', 'layers', 'sweep'];

/**
 * Where `--shard auto/N` reads K: a Kubernetes Indexed Job's JOB_COMPLETION_INDEX counts from 0
 * (K = index + 1); a Slurm array's SLURM_ARRAY_TASK_ID is taken as K itself (run --array=1-N).
 */
export const SHARD_INDEX_ENV = { JOB_COMPLETION_INDEX: 1, SLURM_ARRAY_TASK_ID: 0 } as const;

const SHARD_HELP = 'Use K/N with whole numbers 1 ≤ K ≤ N, e.g. --shard 2/3, or --shard auto/N to read K from JOB_COMPLETION_INDEX (Kubernetes, from 0) or SLURM_ARRAY_TASK_ID (Slurm, --array=1-N).';

/** Parses "K/N" or "auto/N"; refuses anything else, naming what it received. */
export function parseShard(text: string, env: Readonly<Record<string, string | undefined>> = process.env): Shard {
  const m = /^\s*(auto|\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new GraftError('BAD_ARGUMENT', `--shard ${JSON.stringify(text)} is not K/N. ${SHARD_HELP}`);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) throw new GraftError('BAD_ARGUMENT', `--shard ${text}: N must be at least 1; received ${m[2]}. ${SHARD_HELP}`);
  const index = m[1] === 'auto' ? indexFromEnv(text, env) : Number(m[1]);
  if (!Number.isSafeInteger(index) || index < 1 || index > count) {
    throw new GraftError('BAD_ARGUMENT', `--shard ${text}: K must lie in 1..${count}; received ${index}. ${SHARD_HELP}`);
  }
  return { index, count };
}

function indexFromEnv(text: string, env: Readonly<Record<string, string | undefined>>): number {
  for (const [name, offset] of Object.entries(SHARD_INDEX_ENV)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (!/^\d+$/.test(v.trim())) throw new GraftError('BAD_ARGUMENT', `--shard ${text} reads K from ${name}, which is ${JSON.stringify(v)}, not a whole number. ${SHARD_HELP}`);
    return Number(v.trim()) + offset;
  }
  throw new GraftError('BAD_ARGUMENT', `--shard ${text} reads K from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID, and neither is set. ${SHARD_HELP}`);
}

/** The trial indices (of `total`, in plan order) that `shard` runs: every N-th from K−1, so each share mixes small and large trials. */
export function shardIndices(total: number, shard: Shard): number[] {
  const out: number[] = [];
  for (let i = shard.index - 1; i < total; i += shard.count) out.push(i);
  return out;
}

export function shardFileName(kind: ShardKind, shard: Shard): string {
  return `${kind}.shard-${shard.index}-of-${shard.count}.json`;
}

export const SHARD_FILE_PATTERN = /^(compare|layers|sweep)\.shard-(\d+)-of-(\d+)\.json$/;

/** What must be equal for shards to belong to the same run. */
export interface ShardFingerprint {
  kind: ShardKind;
  graftVersion: string;
  task: string;
  /** The resolved plan (every option that changes a trial). */
  plan: unknown;
  /** sha256 of the source model's TF.js topology and weights. */
  sourceHash: string;
  /** sha256 of the task's data (shapes, labels, class names and pixels when in memory). */
  dataHash: string;
  /** The backend and training engine: different ones give different floating-point results. */
  backend: string;
  engine: string;
}

/** One shard's results: the trial at each plan index it ran. */
export interface ShardFile<R> {
  format: 'graft-shard';
  graftVersion: string;
  kind: ShardKind;
  shard: Shard;
  fingerprint: ShardFingerprint;
  /** Where the source was read from on this machine (the merge reports the first shard's). */
  sourceLocation: string;
  classNames: string[];
  createdAt: string;
  /** Wall time of this shard. */
  seconds: number;
  /** How many trials the whole plan has. */
  total: number;
  results: Array<{ index: number; result: R }>;
  /** A sweep's weight per class (from the training split every shard shares), as sweep.json records it. */
  classWeights?: Record<string, number>;
}

export function sha256(parts: ReadonlyArray<string | Uint8Array>): string {
  const h = createHash('sha256');
  for (const p of parts) {
    const bytes = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    // Length-prefixed, so ["ab", "c"] and ["a", "bc"] differ.
    h.update(`${bytes.length}:`);
    h.update(bytes);
  }
  return h.digest('hex');
}

/** The source's content hash: its topology and weights as graft would save them. */
export async function modelHash(model: tfl.LayersModel): Promise<string> {
  const files = await toTfjsFiles(model, 'graft');
  return sha256([files['model.json'], files['weights.bin']]);
}

/** The data's content hash. Sets streamed from disk (rows) count by shape, labels and names only. */
export function dataHash(sets: ReadonlyArray<Dataset | undefined>): string {
  const parts: Array<string | Uint8Array> = [];
  for (const d of sets) {
    if (!d) {
      parts.push('none');
      continue;
    }
    parts.push(JSON.stringify({ shape: d.sampleShape, classes: d.classNames, range: d.pixelRange, source: d.source }));
    parts.push(new Uint8Array(d.y.buffer, d.y.byteOffset, d.y.byteLength));
    parts.push(new Uint8Array(d.x.buffer, d.x.byteOffset, d.x.byteLength));
  }
  return sha256(parts);
}

export async function fingerprintOf(kind: ShardKind, task: string, plan: unknown, source: tfl.LayersModel, data: ReadonlyArray<Dataset | undefined>): Promise<ShardFingerprint> {
  return {
    kind,
    graftVersion: GRAFT_VERSION,
    task,
    // Through JSON: what the file will hold, so a fingerprint compares equal after a round trip.
    plan: JSON.parse(JSON.stringify(plan)) as unknown,
    sourceHash: await modelHash(source),
    dataHash: dataHash(data),
    backend: activeBackend()?.name ?? 'unknown',
    engine: engineFromEnv(),
  };
}

/** Checks, before any trial runs, that the shard file may be written in `out` (as a result file: never a user's file). */
export async function claimShardOutput(out: string, kind: ShardKind, shard: Shard, o: { force: boolean; flag?: string }): Promise<string> {
  const file = path.join(out, shardFileName(kind, shard));
  await claimOutputFile(file, 'result', { force: o.force, flag: o.flag ?? '--out' });
  await ensureOutputFolder(out, kind, { force: o.force, flag: o.flag ?? '--out' });
  return file;
}

export async function writeShardFile<R>(file: string, content: ShardFile<R>): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(content, null, 2)}\n`);
}

/** The shard file of a finished share: the same header for every study kind. */
function shardFileOf<R>(kind: ShardKind, shard: Shard, fingerprint: ShardFingerprint, sourceLocation: string, classNames: readonly string[], started: number, total: number, indices: readonly number[], results: readonly R[]): ShardFile<R> {
  return {
    format: 'graft-shard',
    graftVersion: GRAFT_VERSION,
    kind,
    shard,
    fingerprint,
    sourceLocation,
    classNames: [...classNames],
    createdAt: new Date().toISOString(),
    seconds: (performance.now() - started) / 1000,
    total,
    results: indices.map((index, i) => ({ index, result: results[i]! })),
  };
}

/** Runs shard K/N of a compare study: its share of the (train size, seed) pairs, both arms each. */
export async function compareShard(options: CompareOptions, parallel: ParallelOptions, shard: Shard): Promise<ShardFile<[Trial, Trial]>> {
  const started = performance.now();
  const plan = planCompare(options);
  const total = trialKeys(plan).length;
  // Fingerprinted before training: the data and source as this machine sees them.
  const data = await prepareTask(plan.task, planData(plan));
  // Where the data lies may differ between machines; its content is fingerprinted instead.
  const { dataDir: _dir, download: _download, ...shared } = plan;
  const fingerprint = await fingerprintOf('compare', data.task, shared, options.source, [data.train, data.validation, data.test]);
  const indices = shardIndices(total, shard);
  const pairs = await runComparePairs(options, plan, indices, parallel);
  return shardFileOf('compare', shard, fingerprint, parallel.sourceLocation, data.test.classNames, started, total, indices, pairs);
}

/** Runs shard K/N of a layers study: its share of the (seed, n, arm) trials; each result is a test accuracy. */
export async function layersShard(options: LayersOptions, sourceLocation: string, shard: Shard): Promise<ShardFile<number>> {
  const started = performance.now();
  const plan = await planLayers(options);
  const total = layersTrialKeys(plan).length;
  const { dataDir, download, perClass: _perClass, ...fitted } = plan.data;
  const data = await prepareTask(plan.task, { ...fitted, ...(dataDir !== undefined && { dataDir }), ...(download !== undefined && { download }) });
  const { dataDir: _dir, download: _download, ...sharedData } = plan.data;
  const fingerprint = await fingerprintOf('layers', data.task, { ...plan, data: sharedData }, options.source, [data.train, data.validation, data.test]);
  const indices = shardIndices(total, shard);
  const accuracies = await runLayersTrials(options.source, plan, indices, options.onPoint);
  return shardFileOf('layers', shard, fingerprint, sourceLocation, data.test.classNames, started, total, indices, accuracies);
}

/**
 * Runs shard K/N of a sweep: its share of the configurations. Of those, only the best is scored on
 * the test set; the merge keeps the test score of the overall choice, which is one of them.
 */
export async function sweepShard(options: SweepOptions, sourceLocation: string, shard: Shard): Promise<ShardFile<SweepRunTrial>> {
  const started = performance.now();
  const plan = planSweep(options);
  const total = plan.configs.length;
  const data = await prepareSweep(plan);
  const { dataDir: _dir, download: _download, ...sharedData } = plan.data;
  const fingerprint = await fingerprintOf('sweep', data.task, { ...plan, data: sharedData }, options.source, [data.train, data.validation, data.test]);
  const indices = shardIndices(total, shard);
  const trials = await runSweepTrials(options.source, plan, data, indices, options.onConfig);
  const classWeights = sweepClassWeights(plan, data.train);
  return { ...shardFileOf('sweep', shard, fingerprint, sourceLocation, data.test.classNames, started, total, indices, trials), ...(classWeights && { classWeights }) };
}
