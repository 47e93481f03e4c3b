import type * as tfl from '@tensorflow/tfjs-layers';
import { pickControls, withControls } from '../train/callbacks/controls.js';
import { transfer, type HeadOptions } from '../transfer/transfer.js';
import { applyRecipe, recipeFor, resolveRecipe, settingsGiven, type RecipeChoice, type RecipeRecord, type RecipeSettings } from '../transfer/recipes.js';
import { fineTune, type FineTuneOptions, type PhaseResult } from '../transfer/fine-tune.js';
import type { FreezePolicy } from '../transfer/freeze.js';
import type { LayerRef } from '../transfer/layer-ref.js';
import { evaluateOn, evaluateWithProbabilities, type Evaluation } from '../evaluate/evaluate.js';
import { assertRunDirFree, saveRun, type OnnxSourceRecord, type PhaseRecord, type RunInfo } from '../io/run-dir.js';
import { importedFrom } from '../io/onnx/source.js';
import { onnxSourceRecord } from './onnx-source.js';
import { examplesFile } from './examples.js';
import { stoppedByGuard, TrainingDiverged } from './diverged.js';
import { prepareTask, type DataOptions, type PreparedData } from './prepare.js';
import { runHeader } from './train-model.js';
import { activeBackend } from '../engine/backend.js';
import { hasCheckpoint } from '../io/checkpoint-dir.js';
import { disposeModel } from '../models/dispose.js';
import { canonicalTaskText } from '../data/task-text.js';
import { resolveOptimizer } from '../train/optimizer.js';
import { EARLY_STOPPING_DEFAULTS } from '../train/early-stopping.js';
import { FIT_DEFAULTS } from '../train/fit.js';
import { formatClassWeight } from '../train/class-weight.js';
import { assertResumes, checkpointHeader, interrupted, abortReason, TrainingInterrupted, type Invocation, type RunCheckpoint } from './checkpoint.js';

export interface TransferModelOptions extends DataOptions, Omit<FineTuneOptions, 'validation' | 'seed' | 'signal' | 'resumeFrom'> {
  /** The source model; it is copied, never modified. */
  source: tfl.LayersModel;
  /** Where the source came from (recorded in run.json). */
  sourcePath?: string;
  /** The source run's task, when known (recorded in run.json). */
  sourceTask?: string;
  /** For an ONNX source: how it was imported (recorded in run.json). */
  sourceOnnx?: OnnxSourceRecord;
  /** Target task spec, e.g. "fashion-mnist:binary=tshirt-top,sandal". */
  task: string;
  cut?: LayerRef;
  /** New head; classes come from the task. */
  head?: Omit<HeadOptions, 'classes'>;
  freeze?: FreezePolicy;
  out?: string;
  force?: boolean;
  data?: PreparedData;
  /** Stops training before the next batch once aborted: saved as a checkpoint in `out` (when given), then TrainingInterrupted is thrown. */
  signal?: AbortSignal;
  /** Continue an interrupted run (readRunCheckpoint(out)) with the same options and source; see trainModel. */
  resumeFrom?: RunCheckpoint;
  /** Kept in a checkpoint so that `graft transfer --resume` needs no options repeated (set by the CLI). */
  invocation?: Invocation;
  /**
   * Named defaults (transfer/recipes.ts) for every head and phase setting these options leave unset:
   * 'writeup', 'keras-guide', 'fastai', 'backbone', or 'auto' ('backbone' for a pretrained image
   * source, else 'writeup'; what `graft transfer` uses). run.json records the recipe, each resolved
   * value and where it came from. Default: none (fineTune's defaults, the write-up's).
   */
  recipe?: RecipeChoice;
  /** With `recipe`: settings given one by one (the CLI's flags); each wins over the recipe and over head/frozen/unfrozen. */
  settings?: Partial<RecipeSettings>;
  /** With recipe 'auto': whether the source's weights were trained (false for a random backbone: 'writeup'). Default true. */
  pretrained?: boolean;
}

export interface TransferResult {
  model: tfl.LayersModel;
  run: RunInfo;
  phases: PhaseResult[];
  /** Test score after the frozen phase (before unfreezing). */
  /** Test score after the frozen phase, before unfreezing. */
  frozenTest: Evaluation;
  test: Evaluation;
  /** Seconds of training, both phases; scoring the test set is not training and is not counted. */
  seconds: number;
  /** Seconds spent scoring the test set (after each phase), apart from `seconds`. */
  evaluationSeconds: number;
}

/** The write-up's Model B recipe: copy the source's layers, new head, frozen phase, unfrozen phase, test. */
export async function transferModel(given: TransferModelOptions): Promise<TransferResult> {
  const { options, recipe } = withRecipe(given);
  const seed = options.seed ?? 0;
  const resume = options.resumeFrom;
  const decisive = transferOptionsRecord(options, seed);
  if (resume) assertResumes(resume, 'transfer', decisive, options.callbacks);
  const inPlace = resume !== undefined && options.out !== undefined && (await hasCheckpoint(options.out));
  const force = (options.force ?? false) || inPlace;
  // Weights, and a checkpoint holding them with the optimizer's slots: about four copies.
  if (options.out) await assertRunDirFree(options.out, force, { bytes: 16 * options.source.countParams() });
  // The user's images are fitted to the source's input (its size and channels).
  const data = options.data ?? (await prepareTask(options.task, { modelInput: options.source.inputs[0]!.shape, ...options, seed }));
  const t = await transfer(options.source, {
    head: { ...options.head, classes: data.train.classNames.length },
    seed,
    ...(options.cut !== undefined && { cut: options.cut }),
    ...(options.freeze !== undefined && { freeze: options.freeze }),
  });
  const signal = options.signal;
  if (signal?.aborted && !resume) {
    disposeModel(t.model);
    throw new TrainingInterrupted(abortReason(signal), undefined, undefined);
  }
  const started = performance.now();
  let evaluationSeconds = 0;
  let frozenTest: Evaluation | undefined = resume?.command === 'transfer' ? resume.frozenTest : undefined;
  let last: { evaluation: Evaluation; probabilities: Float32Array } | undefined;
  const phases = await fineTune(t, data.train, {
    seed,
    ...(options.frozen && { frozen: options.frozen }),
    ...(options.unfrozen && { unfrozen: options.unfrozen }),
    ...(options.featureCache !== undefined && { featureCache: options.featureCache }),
    ...(options.augment && { augment: options.augment }),
    ...(options.batchSize !== undefined && { batchSize: options.batchSize }),
    ...(options.earlyStopping !== undefined && { earlyStopping: options.earlyStopping }),
    ...(options.classWeight !== undefined && { classWeight: options.classWeight }),
    ...pickControls(options),
    ...(data.validation && { validation: data.validation }),
    ...(options.callbacks && { callbacks: options.callbacks }),
    ...(signal && { signal }),
    ...(resume?.command === 'transfer' && { resumeFrom: resume.fineTune }),
    onPhaseEnd: async (phase) => {
      const scoring = performance.now();
      // Scored on cached test features when the phase had them: same numbers, no second pass through the base.
      if (phase.cache) await phase.cache.precompute([data.test]);
      last = phase.cache ? evaluateWithProbabilities(phase.cache.top, phase.cache.features(data.test)) : await evaluateOn(t.model, data.test);
      if (phase.name === 'frozen') frozenTest = last.evaluation;
      evaluationSeconds += (performance.now() - scoring) / 1000;
    },
  });
  // Scoring ran inside fineTune's time (onPhaseEnd) but is not training.
  const seconds = (performance.now() - started) / 1000 - evaluationSeconds + (resume?.seconds ?? 0);
  const stopped = phases[phases.length - 1];
  if (stopped?.stopReason === 'interrupted') {
    const state = stopped.resume!;
    const recordedSource = sourcePathOf(options, resume);
    const checkpoint: RunCheckpoint = {
      command: 'transfer',
      header: checkpointHeader('transfer', state.fit, signal),
      options: decisive,
      backend: activeBackend()?.name ?? 'unknown',
      seconds,
      fineTune: state,
      ...(frozenTest && { frozenTest }),
      ...(recordedSource !== undefined && { sourcePath: recordedSource }),
      ...(options.invocation && { invocation: options.invocation }),
    };
    disposeModel(t.model);
    throw await interrupted(checkpoint, options.out, force);
  }
  if (stopped && stoppedByGuard(stopped.stopReason)) {
    disposeModel(t.model);
    throw new TrainingDiverged(stopped.name, { ...stopped, stopReason: stopped.stopReason }, phases.flatMap((p) => p.history), options.out);
  }
  if (!last) {
    const scoring = performance.now();
    last = await evaluateOn(t.model, data.test);
    evaluationSeconds += (performance.now() - scoring) / 1000;
  }
  const test = last.evaluation;
  frozenTest ??= test;
  // A source loadOnnxSource made records how it was imported, even when the caller did not pass it.
  const imported = importedFrom(options.source);
  const onnx = options.sourceOnnx ?? (imported && onnxSourceRecord({ model: options.source, info: imported.info, file: imported.file }));
  const run: RunInfo = {
    ...runHeader(data, seed),
    kind: 'transfer',
    source: { path: sourcePathOf(options, resume) ?? imported?.file ?? '(in memory)', ...(options.sourceTask && { task: options.sourceTask }), ...(onnx && { onnx }) },
    transfer: { cut: t.reused[t.reused.length - 1]?.name ?? '', reused: t.reused.map((l) => l.name), head: t.head.map((l) => l.name), frozen: t.frozen },
    phases: phases.map((p) => ({ ...toPhaseRecord(p), ...(options.classWeight !== undefined && { classWeight: formatClassWeight(options.classWeight) }), ...withControls(options) })),
    metrics: { test, frozenTest },
    ...(recipe && { recipe }),
  };
  if (options.out) await saveRun(options.out, t.model, run, { force, extraFiles: examplesFile(t.model, data.test, last.probabilities) });
  return { model: t.model, run, phases, frozenTest, test, seconds, evaluationSeconds };
}

/** The options with the recipe's values filled in, and the record of it (none without a recipe). */
function withRecipe(o: TransferModelOptions): { options: TransferModelOptions; recipe?: RecipeRecord } {
  if (o.recipe === undefined) return { options: o };
  const name = recipeFor(o.recipe, o.source, o.pretrained ?? true);
  const settings = Object.fromEntries(Object.entries(o.settings ?? {}).filter(([, v]) => v !== undefined)) as Partial<RecipeSettings>;
  const recipe = resolveRecipe(name, { ...settingsGiven(o), ...settings }, o.recipe);
  return { options: applyRecipe(o, recipe.values), recipe };
}

function toPhaseRecord(p: PhaseResult): PhaseRecord {
  const r: PhaseRecord = { name: p.name, epochs: p.history.length, optimizer: p.optimizer, trainableLayers: p.trainableLayers, stopReason: p.stopReason, seconds: p.seconds, history: p.history };
  if (p.engine) r.engine = p.engine;
  if (p.message) r.message = p.message;
  if (p.learningRates) r.learningRates = p.learningRates;
  if (p.unfreezeSchedule) r.unfreezeSchedule = p.unfreezeSchedule;
  if (p.schedule) r.schedule = p.schedule;
  if (p.batchNorm) r.batchNorm = p.batchNorm;
  if (p.featureCache) r.featureCache = p.featureCache;
  if (p.classWeights) r.classWeights = p.classWeights;
  if (p.keptBest) r.keptBest = p.keptBest;
  return r;
}

/** The source as the run first recorded it: a resumed run may load it from another path. */
function sourcePathOf(o: TransferModelOptions, resume: RunCheckpoint | undefined): string | undefined {
  return (resume?.command === 'transfer' ? resume.sourcePath : undefined) ?? o.sourcePath;
}

/** The options that decide a transfer run's result, as a resume compares them (the source is checked by its weights). */
function transferOptionsRecord(o: TransferModelOptions, seed: number): Record<string, unknown> {
  const phase = (p: { epochs: number; optimizer?: Parameters<typeof resolveOptimizer>[0] } | undefined): unknown => p && { ...p, ...(p.optimizer && { optimizer: resolveOptimizer(p.optimizer) }) };
  return {
    task: canonicalTaskText(o.task),
    cut: o.cut,
    head: o.head,
    freeze: o.freeze,
    frozen: phase(o.frozen),
    unfrozen: phase(o.unfrozen),
    featureCache: o.featureCache,
    augment: o.augment,
    batchSize: o.batchSize ?? FIT_DEFAULTS.batchSize,
    earlyStopping: o.earlyStopping ? { ...EARLY_STOPPING_DEFAULTS, ...o.earlyStopping } : false,
    seed,
    perClass: o.perClass,
    valSplit: o.valSplit,
    image: o.image,
    ...(o.classWeight !== undefined && { classWeight: o.classWeight }),
    ...withControls(o),
    ...(o.resize !== undefined && { resize: o.resize }),
  };
}
