import { hostname } from 'node:os';
import type { Job } from 'bullmq';
import { GraftError } from '../../errors.js';
import { GRAFT_VERSION } from '../../version.js';
import type { QueueUrl } from './connection.js';
import { closeQuietly, openQueue } from './open.js';
import { QUEUE_NAME, workerName, type TrialDone, type TrialJob } from './payload.js';
import { trialRunner } from './trial-runner.js';

/**
 * `graft worker URL`: takes trials off the queue one at a time and runs them (trial-runner.ts says
 * how, and when a trial is refused). While a trial runs, BullMQ renews its lock from this thread
 * between TF.js's steps; a worker that dies stops renewing it, and after the stall time another
 * worker's check puts the trial back on the queue. (BullMQ's sandboxed processors would renew it
 * from a free thread, but a sandboxed worker did not stop when Redis went away; measured, not used.)
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
  const runner = trialRunner({ url: o.url, name, say, ...(o.dataDir !== undefined && { dataDir: o.dataDir }) });
  let busy = false;
  let lastActivity = Date.now();
  const processor = async (job: Job<TrialJob>): Promise<TrialDone<unknown>> => {
    try {
      return await runner.run(job);
    } catch (e) {
      // Not retried: the same worker would refuse again; the coordinator reports the reason.
      if (e instanceof GraftError) throw new link.bullmq.UnrecoverableError(e.message);
      throw e;
    }
  };
  const worker = new link.bullmq.Worker<TrialJob, TrialDone<unknown>>(QUEUE_NAME, processor, {
    connection: link.options,
    concurrency: 1,
    lockDuration: stall,
    stalledInterval: stall,
    maxStalledCount: 2,
    name,
    autorun: false,
  });
  worker.on('error', (e) => link.noteError(e));
  worker.on('active', () => {
    busy = true;
  });
  worker.on('completed', () => {
    summary.ran++;
    busy = false;
    lastActivity = Date.now();
  });
  worker.on('failed', () => {
    summary.refused++;
    busy = false;
    lastActivity = Date.now();
  });
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
    await runner.close();
  }
}

