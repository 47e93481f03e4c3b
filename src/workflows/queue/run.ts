import * as path from 'node:path';
import { GraftError } from '../../errors.js';
import type { CompareResult } from '../../evaluate/compare-result.js';
import { writeFileAtomic } from '../../io/atomic.js';
import type { CompareOptions } from '../compare.js';
import type { LayersOptions, LayersResult } from '../layers.js';
import type { SweepOptions, SweepResult } from '../sweep.js';
import { parseQueueUrl } from './connection.js';
import { runQueuedStudy, type CoordinatorOptions, type QueuedResult } from './coordinator.js';
import { planQueuedCompare, planQueuedLayers, planQueuedSweep, type PlannedStudy } from './studies.js';

/** `--queue URL` for compare, layers and sweep: plan, queue, collect, then write the usual result file. */

export interface QueueRunOptions {
  /** The --queue value. */
  queue: string;
  out: string;
  force: boolean;
  sourceLocation: string;
  onLine?: (line: string) => void;
}

/** Refuses flags that do not go with --queue, before anything runs. */
export function checkQueueFlags(queue: string | undefined, shard: string | undefined): void {
  if (queue !== undefined && shard !== undefined) {
    throw new GraftError('BAD_ARGUMENT', `--queue ${queue} and --shard ${shard} were both given: a queue hands out every trial itself, a shard runs a fixed share. Fix: use one of them.`);
  }
  if (queue !== undefined) parseQueueUrl(queue);
}

export async function compareOnQueue(options: CompareOptions, o: QueueRunOptions): Promise<{ result: CompareResult; file: string; resumed: number }> {
  const r = await onQueue(await planQueuedCompare(options), options.source, o, 'compare.json');
  if (r.result.kind !== 'compare') throw new GraftError('RUN_INCOMPLETE', 'a compare study came back as another kind; this is a bug in graft.', { userError: false });
  return { result: r.result.result, file: r.file, resumed: r.resumed };
}

export async function layersOnQueue(options: LayersOptions, o: QueueRunOptions): Promise<{ result: LayersResult; file: string; resumed: number }> {
  const r = await onQueue(await planQueuedLayers(options), options.source, o, 'layers.json');
  if (r.result.kind !== 'layers') throw new GraftError('RUN_INCOMPLETE', 'a layers study came back as another kind; this is a bug in graft.', { userError: false });
  return { result: r.result.result, file: r.file, resumed: r.resumed };
}

export async function sweepOnQueue(options: SweepOptions, o: QueueRunOptions): Promise<{ result: SweepResult; file: string; resumed: number }> {
  const r = await onQueue(await planQueuedSweep(options), options.source, o, 'sweep.json');
  if (r.result.kind !== 'sweep') throw new GraftError('RUN_INCOMPLETE', 'a sweep study came back as another kind; this is a bug in graft.', { userError: false });
  return { result: r.result.result, file: r.file, resumed: r.resumed };
}

async function onQueue(study: PlannedStudy, source: CompareOptions['source'], o: QueueRunOptions, name: string): Promise<{ result: QueuedResult; file: string; resumed: number }> {
  const c: CoordinatorOptions = { url: parseQueueUrl(o.queue), out: o.out, force: o.force, sourceLocation: o.sourceLocation, ...(o.onLine && { onLine: o.onLine }) };
  const run = await runQueuedStudy(study, source, c);
  const file = path.join(o.out, name);
  await writeFileAtomic(file, `${JSON.stringify(run.result.result, null, 2)}\n`);
  // Only now: until the file is written, the finished trials stay in Redis and in the partial file.
  await run.finish();
  return { result: run.result, file, resumed: run.resumed };
}
