import { hostname } from 'node:os';
import type { Job } from 'bullmq';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../../errors.js';
import { disposeModel } from '../../models/dispose.js';
import { GRAFT_VERSION } from '../../version.js';
import { fingerprintDifference } from '../merge.js';
import type { ShardFingerprint } from '../shard.js';
// Registers OnnxBlock, so sources imported from ONNX rebuild here too.
import '../../models/onnx-block/layer.js';
import type { QueueUrl } from './connection.js';
import { closeQuietly, openQueue } from './open.js';
import { QUEUE_NAME, workerName, type TrialDone, type TrialJob } from './payload.js';
import { fetchSource, type BlobStore, type SourceFiles } from './source-store.js';
import { describeUnit, fingerprintHere, planHere, runTrialUnit } from './studies.js';

/**
 * `graft worker URL`: takes trials off the queue one at a time and runs them. Before its first trial
 * of a study it fetches the source by hash, rebuilds the data and recomputes the fingerprint; a
 * trial it cannot reproduce exactly (another graft version, other data, backend or engine) is failed
 * at once, not retried, with the reason, which the coordinator prints.
 */

/** Default seconds a silent worker (killed, cut off) keeps its trial before another worker gets it. */
export const DEFAULT_STALL_SECONDS = 30;

export interface QueueWorkerOptions {
  url: QueueUrl;
  /** Where this machine keeps the datasets, when not where the coordinator's are. */
  dataDir?: string;
  /** Exit after this many seconds without a trial. Default: never. */
  idleExitSeconds?: number;
  /** Seconds without a lock renewal after which a trial is taken to have stalled. Default 30. */
  stallSeconds?: number;
  onLine?: (line: string) => void;
}

export interface QueueWorkerSummary {
  name: string;
  ran: number;
  refused: number;
}

interface Context {
  study: string;
  source: tfl.LayersModel;
  here: ShardFingerprint;
}

/** Runs until idle for `idleExitSeconds`, `stop()` is called, or Redis is lost (then it throws). */
export function startQueueWorker(o: QueueWorkerOptions): { name: string; done: Promise<QueueWorkerSummary>; stop: () => void } {
  const name = workerName(hostname(), process.pid);
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  return { name, done: run(o, name, stopped), stop: () => stop() };
}

async function run(o: QueueWorkerOptions, name: string, stopped: Promise<void>): Promise<QueueWorkerSummary> {
  const say = o.onLine ?? ((): void => undefined);
  const summary: QueueWorkerSummary = { name, ran: 0, refused: 0 };
  // Redis is reached through a queue first: a BullMQ worker that never reached it cannot be closed cleanly.
  const q = await openQueue(o.url, () => 'The trial this worker was running goes back to the queue for another worker. ');
  const link = q.link;
  const stall = (o.stallSeconds ?? DEFAULT_STALL_SECONDS) * 1000;
  let context: Promise<Context> | undefined;
  let contextStudy = '';
  let busy = false;
  let lastActivity = Date.now();

  const worker = new link.bullmq.Worker<TrialJob, TrialDone<unknown>>(
    QUEUE_NAME,
    async (job: Job<TrialJob>) => {
      busy = true;
      try {
        return await runJob(job);
      } finally {
        busy = false;
        lastActivity = Date.now();
      }
    },
    // A killed worker stops renewing its lock; after `stall` another worker's check puts the trial back.
    { connection: link.options, concurrency: 1, lockDuration: stall, stalledInterval: stall, maxStalledCount: 2, name, autorun: false },
  );
  worker.on('error', (e) => link.noteError(e));

  async function runJob(job: Job<TrialJob>): Promise<TrialDone<unknown>> {
    const t = job.data;
    const what = `${t.kind} ${describeUnit(t.kind, t.plan, t.index)} (trial ${t.index + 1} of ${t.total}, job ${job.id})`;
    say(`taking ${what}`);
    try {
      if (t.fingerprint.graftVersion !== GRAFT_VERSION) {
        throw new GraftError('BAD_ARGUMENT', `worker ${name} runs graft ${GRAFT_VERSION}, but the trial was planned with graft ${t.fingerprint.graftVersion}, whose results may differ. Fix: run graft ${t.fingerprint.graftVersion} on this worker (or rerun the coordinator with graft ${GRAFT_VERSION}).`);
      }
      if (contextStudy !== t.study) {
        const previous = context;
        contextStudy = t.study;
        context = prepare(t);
        // One study's source at a time: the previous one is no longer needed.
        previous?.then((c) => disposeModel(c.source), () => undefined);
      }
      const c = await context!.catch((e: unknown) => {
        contextStudy = '';
        throw e;
      });
      const difference = fingerprintDifference(t.fingerprint, c.here);
      if (difference) throw new GraftError('BAD_ARGUMENT', `worker ${name} cannot reproduce this trial's inputs exactly (${difference}; the coordinator's vs this worker's). Fix: ${fixFor(difference)}`);
      const started = performance.now();
      const result = await runTrialUnit(t.kind, c.source, planHere(t.kind, t.plan, o.dataDir), t.index);
      const seconds = (performance.now() - started) / 1000;
      summary.ran++;
      say(`finished ${what} in ${seconds.toFixed(1)} s`);
      return { result, worker: name, seconds };
    } catch (e) {
      if (!(e instanceof GraftError)) throw e;
      // Not retried: the same worker would refuse again; the coordinator reports the reason.
      summary.refused++;
      say(`refused ${what}: ${e.message}`);
      throw new link.bullmq.UnrecoverableError(e.message);
    }
  }

  async function prepare(t: TrialJob): Promise<Context> {
    const client = (await q.queue.client) as unknown as BlobStore;
    const files = await fetchSource(client, t.fingerprint.sourceHash);
    const source = await modelFrom(files);
    const here = await fingerprintHere(t.kind, planHere(t.kind, t.plan, o.dataDir), t.fingerprint, t.fingerprint.sourceHash);
    return { study: t.study, source, here };
  }

  void worker.run().catch((e: Error) => link.noteError(e));
  try {
    await link.guard(worker.waitUntilReady());
    say(`worker ${name} taking trials from ${o.url.shown} (graft ${GRAFT_VERSION})`);
    const idle = new Promise<void>((resolve) => {
      if (o.idleExitSeconds === undefined) return;
      const limit = o.idleExitSeconds * 1000;
      const timer = setInterval(() => {
        if (!busy && Date.now() - lastActivity >= limit) {
          clearInterval(timer);
          resolve();
        }
      }, 200);
      void stopped.then(() => clearInterval(timer));
    });
    await link.guard(Promise.race([idle, stopped]));
    // Finishes the trial in hand, if any, before closing.
    await link.guard(worker.close());
    return summary;
  } finally {
    await closeQuietly(() => worker.close(true));
    await q.close();
    const c = await context?.catch(() => undefined);
    if (c) disposeModel(c.source);
  }
}

async function modelFrom(files: SourceFiles): Promise<tfl.LayersModel> {
  const json = JSON.parse(files.modelJson) as { modelTopology: object; weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }> };
  const weights = files.weights.slice().buffer;
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: weights }));
}

function fixFor(difference: string): string {
  if (difference.startsWith('dataHash') || difference.startsWith('task')) return 'give this worker the same dataset files as the coordinator (graft worker … --data-dir DIR).';
  if (difference.startsWith('backend')) return 'start the worker with the coordinator\'s backend (graft worker … --backend NAME) or install the same one.';
  if (difference.startsWith('engine')) return 'start the worker with the coordinator\'s engine (graft worker … --engine NAME).';
  return 'run the worker with the same graft and options as the coordinator.';
}
