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
import { openQueue, type OpenQueue } from './open.js';
import type { TrialDone, TrialJob } from './payload.js';
import { fetchSource, type BlobStore, type SourceFiles } from './source-store.js';
import { describeUnit, fingerprintHere, planHere, runTrialUnit } from './studies.js';

/**
 * What a worker does with one trial: before its first trial of a study, fetch the source by hash,
 * rebuild the data and recompute the fingerprint; refuse (a GraftError) a trial whose inputs differ
 * in any field; run it. Used in the thread BullMQ runs trials in, or in the worker's own thread.
 */

export interface RunnerSettings {
  url: QueueUrl;
  /** host:pid of the worker, for messages and results. */
  name: string;
  dataDir?: string;
  say: (line: string) => void;
}

interface Context {
  source: tfl.LayersModel;
  here: ShardFingerprint;
}

export interface TrialRunner {
  run(job: { id?: string | undefined; data: TrialJob }): Promise<TrialDone<unknown>>;
  close(): Promise<void>;
}

export function trialRunner(s: RunnerSettings): TrialRunner {
  let queue: Promise<OpenQueue> | undefined;
  let context: Promise<Context> | undefined;
  let contextStudy = '';

  async function prepare(t: TrialJob): Promise<Context> {
    queue ??= openQueue(s.url, () => '');
    const client = (await (await queue).queue.client) as unknown as BlobStore;
    const files = await fetchSource(client, t.fingerprint.sourceHash);
    const source = await modelFrom(files);
    const here = await fingerprintHere(t.kind, planHere(t.kind, t.plan, s.dataDir), t.fingerprint, t.fingerprint.sourceHash);
    return { source, here };
  }

  return {
    async run(job) {
      const t = job.data;
      const what = `${t.kind} ${describeUnit(t.kind, t.plan, t.index)} (trial ${t.index + 1} of ${t.total}, job ${job.id ?? '?'})`;
      s.say(`taking ${what}`);
      try {
        if (t.fingerprint.graftVersion !== GRAFT_VERSION) {
          throw new GraftError('BAD_ARGUMENT', `worker ${s.name} runs graft ${GRAFT_VERSION}, but the trial was planned with graft ${t.fingerprint.graftVersion}, whose results may differ. Fix: run graft ${t.fingerprint.graftVersion} on this worker (or rerun the coordinator with graft ${GRAFT_VERSION}).`);
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
        if (difference) throw new GraftError('BAD_ARGUMENT', `worker ${s.name} cannot reproduce this trial's inputs exactly (${difference}; the coordinator's vs this worker's). Fix: ${fixFor(difference)}`);
        const started = performance.now();
        const result = await runTrialUnit(t.kind, c.source, planHere(t.kind, t.plan, s.dataDir), t.index);
        const seconds = (performance.now() - started) / 1000;
        s.say(`finished ${what} in ${seconds.toFixed(1)} s`);
        return { result, worker: s.name, seconds };
      } catch (e) {
        if (e instanceof GraftError) s.say(`refused ${what}: ${e.message}`);
        throw e;
      }
    },
    async close() {
      const c = await context?.catch(() => undefined);
      if (c) disposeModel(c.source);
      const q = await queue?.catch(() => undefined);
      await q?.close();
    },
  };
}

async function modelFrom(files: SourceFiles): Promise<tfl.LayersModel> {
  const json = JSON.parse(files.modelJson) as { modelTopology: object; weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }> };
  const weights = files.weights.slice().buffer;
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: weights }));
}

function fixFor(difference: string): string {
  if (difference.startsWith('dataHash') || difference.startsWith('task')) return 'give this worker the same dataset files as the coordinator (graft worker … --data-dir DIR).';
  if (difference.startsWith('backend')) return "start the worker with the coordinator's backend (graft worker … --backend NAME) or install the same one.";
  if (difference.startsWith('engine')) return "start the worker with the coordinator's engine (graft worker … --engine NAME).";
  return 'run the worker with the same graft and options as the coordinator.';
}
