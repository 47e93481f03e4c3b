import type { Job, Queue } from 'bullmq';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../../errors.js';
import type { CompareResult, Trial } from '../../evaluate/compare-result.js';
import { toTfjsFiles } from '../../io/tfjs-format.js';
import { buildResult, type ComparePlan } from '../compare.js';
import { buildLayersResult, type LayersPlan, type LayersResult } from '../layers.js';
import type { SweepPlan, SweepResult, SweepRunTrial } from '../sweep.js';
import { finishQueuedSweep } from './sweep-choice.js';
import { openQueue } from './open.js';
import type { QueueUrl } from './connection.js';
import * as path from 'node:path';
import { appendPartial, partialFileName, readPartial, removePartial, startPartial } from './partial.js';
import { studyId, trialJobId, type TrialDone, type TrialJob } from './payload.js';
import { uploadSource, type BlobStore } from './source-store.js';
import { describeUnit, type PlannedStudy, type UnitResult } from './studies.js';

/**
 * The coordinator of a queued study (`graft compare|layers|sweep … --queue URL`): it puts one job per
 * trial unit on the queue, with ids derived from the study's fingerprint, and collects results as
 * workers finish them. Restart-safe by construction: a job that exists is never added twice, a
 * finished one is read back instead of rerun, and every result is also appended to a local file.
 */

export interface CoordinatorOptions {
  url: QueueUrl;
  /** The study's output folder (it holds the partial file). */
  out: string;
  /** Start afresh over a partial file of another run. */
  force: boolean;
  /** Recorded in the result as the source. */
  sourceLocation: string;
  /** Progress lines (a trial started, finished, resumed). */
  onLine?: (line: string) => void;
  /** How often Redis is asked about the jobs. Default 500 ms. */
  pollMs?: number;
}

export type QueuedResult = { kind: 'compare'; result: CompareResult } | { kind: 'layers'; result: LayersResult } | { kind: 'sweep'; result: SweepResult };

export interface QueuedRun {
  result: QueuedResult;
  /** Trials found finished when this coordinator started (a restart). */
  resumed: number;
  /** Call once the result file is written: removes the study's jobs from Redis and the partial file. */
  finish: () => Promise<void>;
}

type Unit = UnitResult;

export async function runQueuedStudy(study: PlannedStudy, source: tfl.LayersModel, o: CoordinatorOptions): Promise<QueuedRun> {
  const say = o.onLine ?? ((): void => undefined);
  const id = studyId(study.fingerprint);
  const done = await readPartial<Unit>(o.out, study.kind, study.fingerprint, o.force);
  const partialFile = path.join(o.out, partialFileName(study.kind));
  const q = await openQueue(o.url, () => `${done.size} of ${study.total} finished trials are kept in ${partialFile}; rerun the same command to resume from them. `);
  try {
    // Only once Redis answers: a wrong URL leaves no file behind.
    await startPartial(o.out, study.kind, study.fingerprint, done);
    const client = (await q.guard(q.queue.client)) as unknown as BlobStore;
    const files = await toTfjsFiles(source, 'graft');
    const sourceFiles = { modelJson: files['model.json'], weights: files['weights.bin'] };
    if (await q.guard(uploadSource(client, study.fingerprint.sourceHash, sourceFiles))) say(`uploaded the source model (sha256 ${study.fingerprint.sourceHash.slice(0, 12)}…) to ${o.url.shown}`);
    const resumedFromFile = done.size;
    const payload = (index: number): TrialJob => ({ kind: study.kind, fingerprint: study.fingerprint, study: id, index, total: study.total, plan: study.plan });
    const add = async (index: number): Promise<void> => {
      await q.queue.add('trial', payload(index), { jobId: trialJobId(id, index), attempts: 1, removeOnComplete: false, removeOnFail: false });
    };
    // Enqueue what is neither in the file nor on the queue; a trial that failed before is queued again (the rerun is the retry).
    let onQueue = 0;
    for (let index = 0; index < study.total; index++) {
      if (done.has(index)) continue;
      const job = await q.guard(q.queue.getJob(trialJobId(id, index)));
      if (!job) await q.guard(add(index));
      else if (job.finishedOn !== undefined && job.returnvalue === null) {
        say(`queued again: ${describeUnit(study.kind, study.plan, index)} (it failed before: ${job.failedReason})`);
        await q.guard(job.retry('failed'));
      } else onQueue++;
    }
    say(`${study.kind} study ${id} on ${o.url.shown}: ${study.total} trials, ${done.size} finished before${onQueue > 0 ? `, ${onQueue} already on the queue` : ''}; start workers with: graft worker ${o.url.shown}`);

    const running = new Map<number, string>();
    while (done.size < study.total) {
      for (let index = 0; index < study.total; index++) {
        if (done.has(index)) continue;
        const job = (await q.guard(q.queue.getJob(trialJobId(id, index)))) as Job<TrialJob, TrialDone<Unit> | null> | undefined;
        const what = describeUnit(study.kind, study.plan, index);
        if (!job) {
          // Redis lost it (restarted empty): queue it again, with the source.
          await q.guard(uploadSource(client, study.fingerprint.sourceHash, sourceFiles));
          await q.guard(add(index));
          say(`queued again: ${what} (no longer on the queue)`);
          continue;
        }
        if (job.finishedOn !== undefined && job.returnvalue) {
          const d = job.returnvalue;
          done.set(index, d);
          running.delete(index);
          await appendPartial(partialFile, index, d);
          say(`[${done.size}/${study.total}] ${what} done by ${d.worker} in ${d.seconds.toFixed(1)} s${resultText(d.result)}`);
        } else if (job.finishedOn !== undefined) {
          throw new GraftError(
            'RUN_INCOMPLETE',
            `trial ${what} failed on worker ${job.processedBy ?? '(unknown)'}: ${(job.failedReason ?? '').replace(/\.$/, '')}. ${done.size} of ${study.total} finished trials are kept in ${partialFile} (and on the queue); the workers go on with the other queued trials. Fix the cause above, then rerun the same command: it collects the finished trials and queues the failed one again.`,
          );
        } else if (job.processedOn !== undefined && job.processedBy !== undefined && running.get(index) !== job.processedBy) {
          say(`${running.has(index) ? 'restarted' : 'started'}: ${what} on ${job.processedBy}`);
          running.set(index, job.processedBy);
        }
      }
      if (done.size < study.total) await q.guard(new Promise((r) => setTimeout(r, o.pollMs ?? 500)));
    }
    const units = Array.from({ length: study.total }, (_, i) => done.get(i)!);
    // Machine time: the workers' trial times added up, as merge adds the shards'.
    const seconds = units.reduce((a, u) => a + u.seconds, 0);
    const fp = study.fingerprint;
    const result: QueuedResult =
      study.kind === 'compare'
        ? { kind: 'compare', result: { ...buildResult(study.plan as ComparePlan, units.flatMap((u) => u.result as [Trial, Trial]), o.sourceLocation, seconds, study.classNames), backend: fp.backend } }
        : study.kind === 'sweep'
          ? { kind: 'sweep', result: await finishQueuedSweep(study.plan as SweepPlan, source, units.map((u) => u.result as SweepRunTrial), { sourceLocation: o.sourceLocation, backend: fp.backend, say }) }
          : { kind: 'layers', result: buildLayersResult(study.plan as LayersPlan, units.map((u) => u.result as number), o.sourceLocation, fp.backend) };
    return {
      result,
      resumed: resumedFromFile,
      finish: async () => {
        try {
          await removeJobs(q.queue, id, study.total);
          await removePartial(partialFile);
        } finally {
          await q.close();
        }
      },
    };
  } catch (e) {
    await q.close();
    throw e;
  }
}

async function removeJobs(queue: Queue, id: string, total: number): Promise<void> {
  for (let index = 0; index < total; index++) await queue.remove(trialJobId(id, index));
}

function resultText(r: Unit): string {
  if (!Array.isArray(r) && typeof r === 'object') return `: validation accuracy ${(100 * r.valAccuracy).toFixed(2)}%`;
  if (typeof r === 'number') return `: test accuracy ${(100 * r).toFixed(2)}%`;
  return `: test error transfer ${(100 * r[0].testError).toFixed(1)}%, scratch ${(100 * r[1].testError).toFixed(1)}%`;
}
