import type * as tfl from '@tensorflow/tfjs-layers';
import { transfer, type HeadOptions } from '../transfer/transfer.js';
import { fineTune, type FineTuneOptions, type PhaseResult } from '../transfer/fine-tune.js';
import type { FreezePolicy } from '../transfer/freeze.js';
import type { LayerRef } from '../transfer/layer-ref.js';
import { evaluateWithProbabilities, type Evaluation } from '../evaluate/evaluate.js';
import { assertRunDirFree, saveRun, type PhaseRecord, type RunInfo } from '../io/run-dir.js';
import { examplesFile } from './examples.js';
import { prepareTask, type DataOptions, type PreparedData } from './prepare.js';
import { runHeader } from './train-model.js';

export interface TransferModelOptions extends DataOptions, Omit<FineTuneOptions, 'validation' | 'seed'> {
  /** The source model; it is copied, never modified. */
  source: tfl.LayersModel;
  /** Where the source came from (recorded in run.json). */
  sourcePath?: string;
  /** The source run's task, when known (recorded in run.json). */
  sourceTask?: string;
  /** Target task spec, e.g. "fashion-mnist:binary=tshirt-top,sandal". */
  task: string;
  cut?: LayerRef;
  /** New head; classes come from the task. */
  head?: Omit<HeadOptions, 'classes'>;
  freeze?: FreezePolicy;
  out?: string;
  force?: boolean;
  data?: PreparedData;
}

export interface TransferResult {
  model: tfl.LayersModel;
  run: RunInfo;
  phases: PhaseResult[];
  /** Test score after the frozen phase (before unfreezing). */
  /** Test score after the frozen phase, before unfreezing. */
  frozenTest: Evaluation;
  test: Evaluation;
  seconds: number;
}

/** The write-up's Model B recipe: copy the source's layers, new head, frozen phase, unfrozen phase, test. */
export async function transferModel(options: TransferModelOptions): Promise<TransferResult> {
  const seed = options.seed ?? 0;
  if (options.out) await assertRunDirFree(options.out, options.force ?? false);
  const data = options.data ?? (await prepareTask(options.task, { ...options, seed }));
  const t = await transfer(options.source, {
    head: { ...options.head, classes: data.train.classNames.length },
    seed,
    ...(options.cut !== undefined && { cut: options.cut }),
    ...(options.freeze !== undefined && { freeze: options.freeze }),
  });
  const started = performance.now();
  let frozenTest: Evaluation | undefined;
  let last: ReturnType<typeof evaluateWithProbabilities> | undefined;
  const phases = await fineTune(t, data.train, {
    seed,
    ...(options.frozen && { frozen: options.frozen }),
    ...(options.unfrozen && { unfrozen: options.unfrozen }),
    ...(options.featureCache !== undefined && { featureCache: options.featureCache }),
    ...(options.augment && { augment: options.augment }),
    ...(options.batchSize !== undefined && { batchSize: options.batchSize }),
    ...(options.earlyStopping !== undefined && { earlyStopping: options.earlyStopping }),
    ...(data.validation && { validation: data.validation }),
    ...(options.callbacks && { callbacks: options.callbacks }),
    onPhaseEnd: (phase) => {
      // Scored on cached test features when the phase had them: same numbers, no second pass through the base.
      last = phase.cache ? evaluateWithProbabilities(phase.cache.top, phase.cache.features(data.test)) : evaluateWithProbabilities(t.model, data.test);
      if (phase.name === 'frozen') frozenTest = last.evaluation;
    },
  });
  const seconds = (performance.now() - started) / 1000;
  last ??= evaluateWithProbabilities(t.model, data.test);
  const test = last.evaluation;
  frozenTest ??= test;
  const run: RunInfo = {
    ...runHeader(data, seed),
    kind: 'transfer',
    source: { path: options.sourcePath ?? '(in memory)', ...(options.sourceTask && { task: options.sourceTask }) },
    transfer: { cut: t.reused[t.reused.length - 1]?.name ?? '', reused: t.reused.map((l) => l.name), head: t.head.map((l) => l.name), frozen: t.frozen },
    phases: phases.map(toPhaseRecord),
    metrics: { test, frozenTest },
  };
  if (options.out) await saveRun(options.out, t.model, run, { force: options.force ?? false, extraFiles: examplesFile(t.model, data.test, last.probabilities) });
  return { model: t.model, run, phases, frozenTest, test, seconds };
}

function toPhaseRecord(p: PhaseResult): PhaseRecord {
  const r: PhaseRecord = { name: p.name, epochs: p.history.length, optimizer: p.optimizer, trainableLayers: p.trainableLayers, stopReason: p.stopReason, seconds: p.seconds, history: p.history };
  if (p.message) r.message = p.message;
  if (p.learningRates) r.learningRates = p.learningRates;
  if (p.unfreezeSchedule) r.unfreezeSchedule = p.unfreezeSchedule;
  if (p.featureCache) r.featureCache = p.featureCache;
  return r;
}
