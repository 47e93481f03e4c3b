import { sha256, type ShardFingerprint, type ShardKind } from '../shard.js';

/**
 * What travels through Redis: one job per trial unit (a compare (train size, seed) pair, a layers
 * trial) carrying everything a worker needs, and the result it sends back.
 */

/** The one BullMQ queue graft's coordinators and workers share. */
export const QUEUE_NAME = 'graft-trials';

/** A trial as a worker receives it. */
export interface TrialJob {
  kind: ShardKind;
  /** What the worker must reproduce exactly (task, plan, source hash, data hash, version, backend, engine). */
  fingerprint: ShardFingerprint;
  /** Short hash of the fingerprint: names the study in job ids and the partial file. */
  study: string;
  /** The trial's index in the plan's fixed order. */
  index: number;
  total: number;
  /** The whole plan, with the coordinator's data location (dataDir); a worker may read the data elsewhere. */
  plan: unknown;
}

/** What a worker returns for a trial. */
export interface TrialDone<R> {
  result: R;
  /** host:pid of the worker that ran it. */
  worker: string;
  seconds: number;
}

export function studyId(fingerprint: ShardFingerprint): string {
  return sha256([JSON.stringify(fingerprint)]).slice(0, 20);
}

/** Deterministic, so a restarted coordinator finds the jobs it added before (BullMQ ids may not contain ':'). */
export function trialJobId(study: string, index: number): string {
  return `${study}-${index}`;
}

/** Redis keys of a source model's files, by content hash. */
export function sourceKeys(hash: string): { modelJson: string; weights: string } {
  return { modelJson: `graft:source:${hash}:model.json`, weights: `graft:source:${hash}:weights.bin` };
}

export function workerName(host: string, pid: number): string {
  return `${host}:${pid}`;
}
