import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { claimStudyOutput } from '../io/study-output.js';
import { disposeModel } from '../models/dispose.js';
import { renderReport } from '../report/render.js';
import type { LrFindRecord } from '../report/lr-find-section.js';
import { transfer } from '../transfer/transfer.js';
import { GRAFT_VERSION } from '../version.js';
import { lrFind, type LrFindOptions, type LrFindResult } from './lr-find.js';
import { checkLrRange, LR_FIND_DEFAULTS } from './lr-find-curve.js';
import { prepareTask, type DataOptions } from './prepare.js';
import type { TransferModelOptions } from './transfer-model.js';

/** `graft lr-find`: the range test on the model `graft transfer` would train, written to lr-find.json and report.html. */

export interface LrFindRunOptions
  extends DataOptions,
    Omit<LrFindOptions, 'seed'>,
    // The source, task, cut, head and freeze as graft transfer takes them.
    Pick<TransferModelOptions, 'source' | 'sourcePath' | 'task' | 'cut' | 'head' | 'freeze' | 'force' | 'data'> {
  /** Folder for lr-find.json and report.html; nothing is written without it. */
  out?: string;
}

export interface LrFindRunResult {
  result: LrFindResult;
  record: LrFindRecord;
  /** The files written, when `out` was given. */
  files?: { json: string; report: string };
}

export const LR_FIND_FILE = 'lr-find.json';

export async function lrFindRun(o: LrFindRunOptions): Promise<LrFindRunResult> {
  const seed = o.seed ?? 0;
  // Refused before any data is read or any folder claimed.
  checkLrRange(o.min ?? LR_FIND_DEFAULTS.min, o.max ?? LR_FIND_DEFAULTS.max, o.steps ?? LR_FIND_DEFAULTS.steps);
  const json = o.out && path.join(o.out, LR_FIND_FILE);
  if (o.out && json) await claimStudyOutput(o.out, 'lr-find', json, { force: o.force ?? false });
  const data = o.data ?? (await prepareTask(o.task, { modelInput: o.source.inputs[0]!.shape, ...o, seed }));
  const t = await transfer(o.source, {
    head: { ...o.head, classes: data.train.classNames.length },
    seed,
    ...(o.cut !== undefined && { cut: o.cut }),
    ...(o.freeze !== undefined && { freeze: o.freeze }),
  });
  let result: LrFindResult;
  try {
    result = await lrFind(t.model, data.train, { ...o, seed });
  } finally {
    disposeModel(t.model);
  }
  const record: LrFindRecord = {
    task: data.task,
    source: o.sourcePath ?? '(in memory)',
    createdAt: new Date().toISOString(),
    rates: result.rates,
    losses: result.losses,
    smoothed: result.smoothed,
    steps: result.steps,
    stoppedEarly: result.stoppedEarly,
    min: result.min,
    max: result.max,
    batchSize: result.batchSize,
    optimizer: result.optimizer,
    engine: result.engine.engine,
    suggestion: result.suggestion,
  };
  if (!o.out || !json) return { result, record };
  // graftVersion marks the file as graft's, so a later --force may replace it.
  await writeFileAtomic(json, `${JSON.stringify({ graftVersion: GRAFT_VERSION, ...record }, null, 2)}\n`);
  const report = path.join(o.out, 'report.html');
  await writeFileAtomic(report, renderReport({ title: `Learning-rate range test: ${data.task}`, runs: [], lrFind: record }));
  return { result, record, files: { json, report } };
}
