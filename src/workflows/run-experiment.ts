import * as path from 'node:path';
import { activeBackend, initBackend } from '../engine/backend.js';
import { setDefaultEngine } from '../engine/onnx/runtime.js';
import { GraftError } from '../errors.js';
import type { CompareResult } from '../evaluate/compare-result.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { Experiment, ExperimentOf } from './config/schema.js';
import { claimStudyOutput } from '../io/study-output.js';
import { loadModel, type LoadedModel } from '../io/run-dir.js';
import { isOnnxSource, loadOnnxTransferSource, onnxSourceRecord, type ResolvedOnnxSource } from './onnx-source.js';
import { disposeModel } from '../models/dispose.js';
import { combineCallbacks, jsonlLogger } from '../train/jsonl-log.js';
import { resolveOptimizer, type OptimizerSpec } from '../train/optimizer.js';
import type { TrainCallbacks } from '../train/types.js';
import { FINE_TUNE_DEFAULTS } from '../transfer/fine-tune.js';
import { parseFreezePolicy, parseUnfreezePolicy } from '../transfer/freeze.js';
import { parseLayerRef, type LayerRef } from '../transfer/layer-ref.js';
import { describeTrial, COMPARE_DEFAULTS } from './compare.js';
import { compareParallel, defaultWorkers } from './compare-parallel.js';
import { checkLayersValidation, layerTransferability, type LayersResult } from './layers.js';
import type { DataOptions } from './prepare.js';
import { runSeed, type SeedResult } from './seed.js';
import { sweep, type SweepResult } from './sweep.js';
import { trainModel } from './train-model.js';
import { transferModel } from './transfer-model.js';
import { parseClassWeight, type ClassWeight } from '../train/class-weight.js';
import { controlsOf, FILE_CONTROL_NAMES, type StudyTraining } from './study-training.js';
import { claimShardOutput, compareShard, layersShard, shardFileName, sweepShard, type Shard, type ShardFile, type ShardKind } from './shard.js';
import type { BatchNormMode } from '../train/batchnorm-mode.js';
import type { CompareOptions } from './compare.js';
import type { LayersOptions } from './layers.js';
import type { SweepOptions } from './sweep.js';
import { checkQueueFlags, compareOnQueue, layersOnQueue, sweepOnQueue, type QueueRunOptions } from './queue/run.js';

export interface ExperimentHooks {
  /** One progress line, without a newline (trials, configurations, points). Default: none. */
  log?: (line: string) => void;
  /** Training progress for each model trained, by label ("train", "transfer", "Model A", …). Default: none. */
  callbacks?: (label: string) => TrainCallbacks | undefined;
  onDownloadProgress?: DataOptions['onDownloadProgress'];
}

/** What a run produced, per kind; compare, sweep and layers also wrote `file` in `out`. */
export type ExperimentSummary =
  | { kind: 'train'; out: string; testAccuracy: number; testLoss: number; seconds: number; evaluationSeconds: number; stopReason: string }
  | { kind: 'transfer'; out: string; frozenTestAccuracy: number; testAccuracy: number; testLoss: number; seconds: number; evaluationSeconds: number; phases: Array<{ name: string; epochs: number; stopReason: string; seconds: number }> }
  | { kind: 'seed'; out: string; result: SeedResult }
  | { kind: 'compare'; out: string; file: string; result: CompareResult }
  | { kind: 'sweep'; out: string; file: string; result: SweepResult }
  | { kind: 'layers'; out: string; file: string; result: LayersResult }
  /** `graft run FILE --shard K/N`: this machine's share of a compare, sweep or layers study, for graft merge. */
  | { kind: 'shard'; study: ShardKind; out: string; file: string; shard: Shard; trials: number; total: number; result: ShardFile<unknown> };

export interface RunExperimentOptions {
  /** Run only the K-th of N shares of a compare, sweep or layers study and write its shard file (workflows/shard.ts). Default: the whole study. */
  shard?: Shard;
  /** Put a compare, sweep or layers study's trials on this Redis queue (redis://HOST:PORT[/DB]) for `graft worker`s and collect them (workflows/queue/). Default: run them here. */
  queue?: string;
}

/** The results file each kind writes into its `out` folder (train, transfer and seed write run directories). */
export const RESULT_FILES = { compare: 'compare.json', sweep: 'sweep.json', layers: 'layers.json' } as const;

/** Runs a validated experiment (see loadExperiment) with the workflow its kind names. */
export async function runExperiment(exp: Experiment, hooks: ExperimentHooks = {}, options: RunExperimentOptions = {}): Promise<ExperimentSummary> {
  if (options.shard && (exp.kind === 'train' || exp.kind === 'transfer' || exp.kind === 'seed')) {
    throw new GraftError('BAD_ARGUMENT', `--shard ${options.shard.index}/${options.shard.count} splits the trials of a study; a kind: ${exp.kind} experiment trains one run. Fix: leave out --shard, or shard a kind: compare, sweep or layers experiment.`);
  }
  checkQueueOptions(exp, options);
  // The file's controls follow one rule with the flags (a monitor nothing watches is refused): checked before anything starts or is written.
  checkControls(exp);
  await initBackend(exp.backend ?? 'auto');
  // Left out, the engine stays what --engine or GRAFT_ENGINE made it.
  if (exp.engine !== undefined) setDefaultEngine(exp.engine);
  if (options.shard) return runShard(exp as ExperimentOf<'compare' | 'sweep' | 'layers'>, hooks, options.shard);
  if (options.queue !== undefined) return runQueued(exp as ExperimentOf<'compare' | 'sweep' | 'layers'>, hooks, options.queue);
  switch (exp.kind) {
    case 'train':
      return runTrain(exp, hooks);
    case 'transfer':
      return runTransfer(exp, hooks);
    case 'seed':
      return runSeedKind(exp, hooks);
    case 'compare':
      return runCompare(exp, hooks);
    case 'sweep':
      return runSweep(exp, hooks);
    case 'layers':
      return runLayers(exp, hooks);
  }
}

async function runTrain(exp: ExperimentOf<'train'>, hooks: ExperimentHooks): Promise<ExperimentSummary> {
  const r = await trainModel({
    ...dataOf(exp, hooks),
    task: exp.task,
    out: exp.out,
    force: exp.force ?? false,
    ...given(exp, ['seed', 'perClass', 'valSplit', 'architecture', 'epochs', 'batchSize', 'optimizer', 'schedule']),
    ...classWeightOf(exp),
    ...runControlsOf(exp),
    callbacks: callbacksOf('train', exp.log, hooks),
  });
  disposeModel(r.model);
  return { kind: 'train', out: exp.out, testAccuracy: r.test.accuracy, testLoss: r.test.loss, seconds: r.seconds, evaluationSeconds: r.evaluationSeconds, stopReason: r.run.phases[0]?.stopReason ?? 'completed' };
}

async function runTransfer(exp: ExperimentOf<'transfer'>, hooks: ExperimentHooks): Promise<ExperimentSummary> {
  const source = await sourceOf(exp);
  const opt = phaseOptimizers(exp.frozen?.optimizer, exp.unfrozen?.optimizer, FINE_TUNE_DEFAULTS.frozen.optimizer);
  try {
    const r = await transferModel({
      ...dataOf(exp, hooks),
      source: source.model,
      sourcePath: exp.from,
      ...(source.run && { sourceTask: source.run.task }),
      task: exp.task,
      out: exp.out,
      force: exp.force ?? false,
      ...given(exp, ['seed', 'perClass', 'valSplit', 'head', 'batchSize']),
      ...classWeightOf(exp),
      ...runControlsOf(exp),
      // An ONNX source is cut when it is read and reused whole.
      ...(source.onnx ? { cut: -1, sourceOnnx: onnxSourceRecord(source.onnx) } : exp.cut !== undefined && { cut: layerRef(exp.cut) }),
      freeze: parseFreezePolicy(exp.freeze ?? 'all'),
      frozen: { epochs: exp.frozen?.epochs ?? FINE_TUNE_DEFAULTS.frozen.epochs, optimizer: opt.frozen, ...scheduleOf(exp.frozen) },
      unfrozen: {
        epochs: exp.unfrozen?.epochs ?? FINE_TUNE_DEFAULTS.unfrozen.epochs,
        optimizer: opt.unfrozen,
        ...scheduleOf(exp.unfrozen),
        unfreeze: parseUnfreezePolicy(exp.unfreeze ?? FINE_TUNE_DEFAULTS.unfrozen.unfreeze),
        ...(exp.batchNorm !== undefined && { batchNorm: exp.batchNorm }),
      },
      callbacks: callbacksOf('transfer', exp.log, hooks),
    });
    disposeModel(r.model);
    return {
      kind: 'transfer',
      out: exp.out,
      frozenTestAccuracy: r.frozenTest.accuracy,
      testAccuracy: r.test.accuracy,
      testLoss: r.test.loss,
      seconds: r.seconds,
      evaluationSeconds: r.evaluationSeconds,
      phases: r.phases.map((p) => ({ name: p.name, epochs: p.history.length, stopReason: p.stopReason, seconds: p.seconds })),
    };
  } finally {
    disposeModel(source.model);
  }
}

async function runSeedKind(exp: ExperimentOf<'seed'>, hooks: ExperimentHooks): Promise<ExperimentSummary> {
  const labels = { modelA: 'Model A', modelB: 'Model B', scratchB: 'Scratch B' } as const;
  const result = await runSeed({
    ...dataOf(exp, hooks),
    out: exp.out,
    force: exp.force ?? false,
    ...given(exp, ['seed', 'epochScale']),
    callbacks: (m) => hooks.callbacks?.(labels[m]),
  });
  return { kind: 'seed', out: exp.out, result };
}

/** The compare options an experiment file states (its source and data added by the caller). */
function compareOptionsOf(exp: ExperimentOf<'compare'>, input: StudyInput, hooks: ExperimentHooks): CompareOptions {
  const opt = phaseOptimizers(exp.frozen?.optimizer, exp.unfrozen?.optimizer, COMPARE_DEFAULTS.frozen.optimizer);
  const patience = exp.earlyStopping?.patience ?? COMPARE_DEFAULTS.earlyStoppingPatience;
  return {
    ...input,
    ...given(exp, ['seeds', 'head', 'valSplit', 'batchSize']),
    ...classWeightOf(exp),
    ...studyTrainingOf(exp, patience !== 'off'),
    ...(exp.perClass !== undefined && { trainSizes: exp.perClass }),
    ...(input.imported ? { cut: -1 } : exp.cut !== undefined && { cut: layerRef(exp.cut) }),
    freeze: parseFreezePolicy(exp.freeze ?? 'all'),
    frozen: { epochs: exp.frozen?.epochs ?? COMPARE_DEFAULTS.frozen.epochs, optimizer: opt.frozen, ...scheduleOf(exp.frozen) },
    unfrozen: { epochs: exp.unfrozen?.epochs ?? COMPARE_DEFAULTS.unfrozen.epochs, optimizer: opt.unfrozen, ...scheduleOf(exp.unfrozen) },
    earlyStoppingPatience: patience === 'off' ? null : patience,
    onTrial: (t, done, total) => hooks.log?.(describeTrial(t, done, total)),
  };
}

function sweepOptionsOf(exp: ExperimentOf<'sweep'>, input: StudyInput, hooks: ExperimentHooks): SweepOptions {
  return {
    ...input,
    space: input.imported ? { ...exp.space, cut: [-1] } : exp.space,
    ...given(exp, ['mode', 'samples', 'optimizer', 'momentum', 'weightDecay', 'frozenSchedule', 'unfrozenSchedule', 'valSplit', 'seed', 'perClass', 'batchSize']),
    ...classWeightOf(exp),
    ...studyTrainingOf(exp, false),
    onConfig: (t, done, total) => {
      const c = t.config;
      hooks.log?.(`configuration ${done}/${total}: cut ${c.cut ?? 'default'}, freeze ${c.freeze}, ${c.frozenEpochs}+${c.unfrozenEpochs} epochs, lr ${c.frozenLr}/${c.unfrozenLr}: validation accuracy ${pct(t.valAccuracy)} (${t.seconds.toFixed(1)} s)`);
    },
  };
}

function layersOptionsOf(exp: ExperimentOf<'layers'>, input: StudyInput, hooks: ExperimentHooks): LayersOptions {
  return {
    ...input,
    ...(input.imported && { cut: -1 }),
    ...given(exp, ['epochs', 'seeds', 'optimizer', 'schedule', 'perClass', 'valSplit', 'batchSize']),
    ...classWeightOf(exp),
    ...studyTrainingOf(exp, false),
    onPoint: (n, arm, seed, acc) => hooks.log?.(`layers: n=${n} ${arm.padEnd(10)} seed ${seed}: test accuracy ${pct(acc)}`),
  };
}

async function runCompare(exp: ExperimentOf<'compare'>, hooks: ExperimentHooks): Promise<ExperimentSummary> {
  const backend = activeBackend()?.name ?? 'cpu';
  const { file, result } = await withSource(exp, hooks, RESULT_FILES.compare, (input) => compareParallel(compareOptionsOf(exp, input, hooks), { workers: exp.workers ?? defaultWorkers(), sourceLocation: exp.from, backend }));
  return { kind: 'compare', out: exp.out, file, result };
}

async function runSweep(exp: ExperimentOf<'sweep'>, hooks: ExperimentHooks): Promise<ExperimentSummary> {
  const { file, result } = await withSource(exp, hooks, RESULT_FILES.sweep, (input) => sweep(sweepOptionsOf(exp, input, hooks)));
  return { kind: 'sweep', out: exp.out, file, result };
}

async function runLayers(exp: ExperimentOf<'layers'>, hooks: ExperimentHooks): Promise<ExperimentSummary> {
  const { file, result } = await withSource(exp, hooks, RESULT_FILES.layers, (input) => layerTransferability(layersOptionsOf(exp, input, hooks)));
  return { kind: 'layers', out: exp.out, file, result };
}

/** This machine's share of the study: the same options as the whole run, so the shards merge to its result. */
async function runShard(exp: ExperimentOf<'compare' | 'sweep' | 'layers'>, hooks: ExperimentHooks, shard: Shard): Promise<ExperimentSummary> {
  const backend = activeBackend()?.name ?? 'cpu';
  // A shard claims its own file (never compare.json: a finished study there is not replaced by a share of it).
  const claim = (): Promise<string> => claimShardOutput(exp.out, exp.kind, shard, { force: exp.force ?? false, flag: 'out' });
  const name = shardFileName(exp.kind, shard);
  const { file, result } = await withSource(
    exp,
    hooks,
    name,
    (input): Promise<ShardFile<unknown>> => {
      switch (exp.kind) {
        case 'compare':
          return compareShard(compareOptionsOf(exp, input, hooks), { workers: exp.workers ?? defaultWorkers(), sourceLocation: exp.from, backend }, shard);
        case 'sweep':
          return sweepShard(sweepOptionsOf(exp, input, hooks), exp.from, shard);
        case 'layers':
          return layersShard(layersOptionsOf(exp, input, hooks), exp.from, shard);
      }
    },
    claim,
  );
  return { kind: 'shard', study: exp.kind, out: exp.out, file, shard, trials: result.results.length, total: result.total, result };
}

/** Refuses --queue with --shard, a malformed URL, or a kind with no trials to hand out; before anything starts. */
export function checkQueueOptions(exp: Experiment, options: RunExperimentOptions): void {
  if (options.queue === undefined) return;
  checkQueueFlags(options.queue, options.shard && `${options.shard.index}/${options.shard.count}`);
  if (exp.kind === 'train' || exp.kind === 'transfer' || exp.kind === 'seed') {
    throw new GraftError('BAD_ARGUMENT', `--queue ${options.queue} hands out the trials of a study; a kind: ${exp.kind} experiment trains ${exp.kind === 'seed' ? 'its models' : 'one run'} here. Fix: leave out --queue, or queue a kind: compare, sweep or layers experiment.`);
  }
}

/** The whole study through a Redis queue: the same options as a run here, so the result file is the same (workflows/queue/). */
async function runQueued(exp: ExperimentOf<'compare' | 'sweep' | 'layers'>, hooks: ExperimentHooks, queue: string): Promise<ExperimentSummary> {
  const q: QueueRunOptions = { queue, out: exp.out, force: exp.force ?? false, sourceLocation: exp.from, ...(hooks.log && { onLine: hooks.log }) };
  switch (exp.kind) {
    case 'compare': {
      const { file, result } = await withSource(exp, hooks, RESULT_FILES.compare, async (input) => (await compareOnQueue(compareOptionsOf(exp, input, hooks), q)).result);
      return { kind: 'compare', out: exp.out, file, result };
    }
    case 'sweep': {
      const { file, result } = await withSource(exp, hooks, RESULT_FILES.sweep, async (input) => (await sweepOnQueue(sweepOptionsOf(exp, input, hooks), q)).result);
      return { kind: 'sweep', out: exp.out, file, result };
    }
    case 'layers': {
      const { file, result } = await withSource(exp, hooks, RESULT_FILES.layers, async (input) => (await layersOnQueue(layersOptionsOf(exp, input, hooks), q)).result);
      return { kind: 'layers', out: exp.out, file, result };
    }
  }
}

// ── Helpers ─────────────────────────────────────────────────────────────────────────────────────

/** The file's `classWeight:` text (checked by the schema), parsed. */
function classWeightOf(exp: { classWeight?: string }): { classWeight?: ClassWeight } {
  return exp.classWeight === undefined ? {} : { classWeight: parseClassWeight(exp.classWeight) };
}

function checkControls(exp: Experiment): void {
  switch (exp.kind) {
    case 'train':
    case 'transfer':
      runControlsOf(exp);
      return;
    case 'compare':
      studyTrainingOf(exp, exp.earlyStopping?.patience !== 'off');
      return;
    case 'sweep':
      studyTrainingOf(exp, false);
      return;
    case 'layers':
      checkLayersValidation({ ...studyTrainingOf(exp, false), valSplit: exp.valSplit });
      return;
    case 'seed':
      return;
  }
}

/** The file's schedule of a phase, when it states one. */
function scheduleOf(phase: { schedule?: string } | undefined): { schedule?: string } {
  return phase?.schedule !== undefined ? { schedule: phase.schedule } : {};
}

/** Issue 16's fields of a compare, sweep or layers file, through the rule the CLI's flags follow (study-training.ts). */
function studyTrainingOf(exp: FileControls & { batchNorm?: BatchNormMode }, earlyStopping: boolean): StudyTraining {
  return { ...controlsOf(exp, earlyStopping, FILE_CONTROL_NAMES), ...(exp.batchNorm !== undefined && { batchNorm: exp.batchNorm }) };
}

type FileControls = { labelSmoothing?: number; keepBest?: boolean; reduceOnPlateau?: { patience: number; factor?: number }; monitor?: string };

/** A train or transfer file's controls and early stopping (which `monitor` steers too), as the run's fit options. */
function runControlsOf(exp: FileControls & { earlyStopping?: { patience?: number; minDelta?: number; restoreBest?: boolean } }): ReturnType<typeof controlsOf> & { earlyStopping?: { patience?: number; minDelta?: number; restoreBest?: boolean; monitor?: StudyTraining['monitor'] } } {
  const { monitor, ...controls } = controlsOf(exp, exp.earlyStopping !== undefined, FILE_CONTROL_NAMES);
  return { ...controls, ...(exp.earlyStopping !== undefined && { earlyStopping: { ...exp.earlyStopping, ...(monitor !== undefined && { monitor }) } }) };
}

function dataOf(exp: { dataDir?: string; offline?: boolean }, hooks: ExperimentHooks): Pick<DataOptions, 'dataDir' | 'download' | 'onDownloadProgress'> {
  return {
    ...(exp.dataDir !== undefined && { dataDir: exp.dataDir }),
    ...(exp.offline && { download: false }),
    ...(hooks.onDownloadProgress && { onDownloadProgress: hooks.onDownloadProgress }),
  };
}

function callbacksOf(label: string, log: string | undefined, hooks: ExperimentHooks): TrainCallbacks {
  return combineCallbacks(hooks.callbacks?.(label), log !== undefined ? jsonlLogger(log) : undefined);
}

/** Both phases' optimizers: fields left out come from the default; phase 2 defaults to phase 1's at a tenth of the rate. */
function phaseOptimizers(frozen: OptimizerSpec | undefined, unfrozen: OptimizerSpec | undefined, frozenDefault: OptimizerSpec): { frozen: Required<OptimizerSpec>; unfrozen: Required<OptimizerSpec> } {
  const f = resolveOptimizer({ ...frozenDefault, ...frozen });
  return { frozen: f, unfrozen: resolveOptimizer({ ...f, learningRate: f.learningRate * FINE_TUNE_DEFAULTS.unfrozen.learningRateFactor, ...unfrozen }) };
}

/** The fields of `exp` named in `keys` that are set: the ones left out keep the workflow's defaults. */
function given<T extends object, K extends keyof T>(exp: T, keys: readonly K[]): { [P in K]?: Exclude<T[P], undefined> } {
  const set: { [P in K]?: Exclude<T[P], undefined> } = {};
  for (const k of keys) if (exp[k] !== undefined) set[k] = exp[k] as Exclude<T[K], undefined>;
  return set;
}

/** A string that is all digits is an index, as on the command line. */
function layerRef(ref: string | number): LayerRef {
  return typeof ref === 'number' ? ref : parseLayerRef(ref);
}

/** What compare, sweep and layers all take: the data, the source model and the task. */
type StudyInput = ReturnType<typeof dataOf> & { source: LoadedModel['model']; sourcePath: string; task: string; /** An ONNX source: already cut, reused whole. */ imported?: true };

/**
 * The experiment's source: an ONNX image model (imported with the file's `preprocess` and
 * `layout`, cut there at a tensor name when `cut` names one), else any model loadModel reads.
 */
async function sourceOf(exp: { from: string; preprocess?: string; layout?: string; cut?: string | number }): Promise<{ model: LoadedModel['model']; run?: LoadedModel['run']; onnx?: ResolvedOnnxSource }> {
  if (await isOnnxSource(exp.from)) {
    if (typeof exp.cut === 'number') throw new GraftError('BAD_ARGUMENT', `cut: ${exp.cut} is a layer index; an ONNX source is cut at a tensor or node name (\`graft inspect ${exp.from}\` lists them), or at its classifier's input when cut is left out.`);
    const onnx = await loadOnnxTransferSource(exp.from, {
      ...(exp.preprocess !== undefined && { preprocess: exp.preprocess }),
      ...(exp.layout !== undefined && { layout: exp.layout as 'nchw' | 'nhwc' }),
      ...(exp.cut !== undefined && { cut: exp.cut }),
    });
    return { model: onnx.model, onnx };
  }
  if (exp.preprocess !== undefined || exp.layout !== undefined) {
    throw new GraftError('BAD_ARGUMENT', `${exp.preprocess !== undefined ? 'preprocess' : 'layout'}: is for ONNX sources; ${exp.from} carries its own preprocessing and layout. Remove the field.`);
  }
  return loadModel(exp.from);
}

/** The frame compare, sweep and layers share: claim the result file, load the source, run, save, free. */
async function withSource<T>(
  exp: ExperimentOf<'compare' | 'sweep' | 'layers'>,
  hooks: ExperimentHooks,
  name: string,
  run: (input: StudyInput) => Promise<T>,
  claim: (file: string) => Promise<unknown> = (file) => claimStudyOutput(exp.out, exp.kind, file, { force: exp.force ?? false, flag: 'out' }),
): Promise<{ file: string; result: T }> {
  // A sweep's cut points are its configurations, not where an ONNX source is cut.
  const source = await sourceOf(exp.kind === 'compare' ? exp : { ...exp, cut: undefined });
  if (source.onnx && exp.kind === 'sweep' && exp.space.cut !== undefined) {
    disposeModel(source.model);
    throw new GraftError('BAD_ARGUMENT', `space.cut: an ONNX source is cut once, when it is read; sweeping cut points of ${exp.from} is not supported. Remove space.cut (the classifier's input is used), or cut it with \`graft transfer --cut\` and sweep the run.`);
  }
  const file = path.join(exp.out, name);
  try {
    // Claimed before any trial: an out that cannot be written fails now, not after the training.
    await claim(file);
  } catch (e) {
    disposeModel(source.model);
    throw e;
  }
  try {
    const result = await run({ ...dataOf(exp, hooks), source: source.model, sourcePath: exp.from, task: exp.task, ...(source.onnx && { imported: true }) });
    await writeResult(file, result);
    return { file, result };
  } finally {
    disposeModel(source.model);
  }
}

async function writeResult(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—';
}
