import { engineFromEnv, type EngineChoice } from '../engine/engine-choice.js';
import { turnOffOnnxRuntimeTelemetry } from '../engine/onnx/telemetry-off.js';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { GraftError } from '../errors.js';
import type { CompareResult, Trial } from '../evaluate/compare-result.js';
import { toTfjsFiles } from '../io/tfjs-format.js';
import { buildResult, classNamesOf, compare, planCompare, runTrialPair, trialKeys, type CompareOptions, type ComparePlan } from './compare.js';

/** One worker thread per core by default. */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

export interface ParallelOptions {
  workers: number;
  /** Recorded in the result as the source. */
  sourceLocation: string;
  /** The backend each worker starts (the parent's). */
  backend: string;
}

/** Message a trial worker receives at start (workerData). */
export interface TrialWorkerData {
  plan: ReturnType<typeof planCompare>;
  modelJson: string;
  weights: Uint8Array;
  backend: string;
  /** The parent's training engine (--engine, the file's engine or GRAFT_ENGINE). */
  engine: EngineChoice;
  /** How many workers share the cores (each worker's onnxruntime sessions take cores/workers threads, shareCores). */
  workers: number;
}

/**
 * `compare` with trials spread over worker threads. Each worker rebuilds the source from its exact
 * serialised weights and runs whole (size, seed) pairs; every trial is seeded, so the results are
 * identical to a serial run, and they are put back in the serial order.
 */
export async function compareParallel(options: CompareOptions, parallel: ParallelOptions): Promise<CompareResult> {
  const plan = planCompare(options);
  const keys = trialKeys(plan);
  const workers = Math.min(parallel.workers, keys.length);
  if (workers <= 1) return compare({ ...options, sourcePath: parallel.sourceLocation });
  const started = performance.now();
  const pairs = await runComparePairs(options, plan, keys.map((_, i) => i), parallel);
  const classNames = await classNamesOf(plan);
  return buildResult(plan, pairs.flat(), parallel.sourceLocation, (performance.now() - started) / 1000, classNames);
}

/**
 * Runs the trial pairs at `indices` of the plan's keys (a shard runs a share of them) on worker
 * threads, or in this thread with one worker; returns them in the order of `indices`.
 */
export async function runComparePairs(options: CompareOptions, plan: ComparePlan, indices: readonly number[], parallel: Pick<ParallelOptions, 'workers' | 'backend'>): Promise<Array<[Trial, Trial]>> {
  const keys = trialKeys(plan);
  const workers = Math.min(parallel.workers, indices.length);
  const total = indices.length * 2;
  let done = 0;
  if (workers <= 1) {
    const out: Array<[Trial, Trial]> = [];
    for (const i of indices) {
      const pair = await runTrialPair(options.source, plan, keys[i]!, options.callbacks);
      out.push(pair);
      for (const t of pair) options.onTrial?.(t, ++done, total);
    }
    return out;
  }
  // Workers cannot set it for the process themselves (see telemetry-off.ts).
  turnOffOnnxRuntimeTelemetry();
  const files = await toTfjsFiles(options.source, 'graft');
  const data: TrialWorkerData = { plan, modelJson: files['model.json'], weights: files['weights.bin'], backend: parallel.backend, engine: engineFromEnv(), workers };
  const results = new Map<number, [Trial, Trial]>();
  let next = 0;
  await new Promise<void>((resolve, reject) => {
    const pool: Worker[] = [];
    let finished = 0;
    const fail = (e: unknown): void => {
      pool.forEach((w) => void w.terminate());
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    const feed = (w: Worker): void => {
      if (next >= indices.length) {
        void w.terminate();
        if (++finished === workers) resolve();
        return;
      }
      const index = indices[next++]!;
      w.postMessage({ index, key: keys[index] });
    };
    for (let i = 0; i < workers; i++) {
      const w = new Worker(new URL('./trial-worker.js', import.meta.url), { workerData: data });
      pool.push(w);
      w.on('message', (m: { index: number; pair?: [Trial, Trial]; error?: { message: string; code?: string; userError?: boolean } }) => {
        if (m.error) {
          fail(m.error.code ? new GraftError(m.error.code as GraftError['code'], m.error.message, { userError: m.error.userError ?? true }) : new Error(m.error.message));
          return;
        }
        results.set(m.index, m.pair!);
        for (const t of m.pair!) options.onTrial?.(t, ++done, total);
        feed(w);
      });
      w.on('error', fail);
      w.once('online', () => feed(w));
    }
  });
  return indices.map((i) => results.get(i)!);
}
