import type * as tfl from '@tensorflow/tfjs-layers';
import { activeBackend } from '../engine/backend.js';
import { GraftError } from '../errors.js';
import { evaluateOn } from '../evaluate/evaluate.js';
import { confidenceInterval, type Interval } from '../evaluate/stats.js';
import type { LayersArm, LayersPoint, LayersResult } from '../evaluate/layers-result.js';
import { disposeModel } from '../models/dispose.js';
import { reinitialize } from '../models/reinit.js';
import { fit } from '../train/fit.js';
import { describeOptimizer, resolveOptimizer, type OptimizerSpec } from '../train/optimizer.js';
import { applyFreeze } from '../transfer/freeze.js';
import type { LayerRef } from '../transfer/layer-ref.js';
import { transfer } from '../transfer/transfer.js';
import { GRAFT_VERSION } from '../version.js';

export type { LayersArm, LayersPoint, LayersResult } from '../evaluate/layers-result.js';
import { prepareTask, type DataOptions } from './prepare.js';
import { formatClassWeight, type ClassWeight } from '../train/class-weight.js';
import { checkStudyTraining, pickStudyTraining, scheduleText, studyTrainingRecord, type StudyTraining } from './study-training.js';

export const LAYERS_DEFAULTS = { epochs: 10, seeds: 3, optimizer: { name: 'adam', learningRate: 1e-3 }, batchSize: 32 } as const;

/** Issue 16's options (StudyTraining) apply to every arm's one training; keep best and reduce on plateau need `valSplit`. */
export interface LayersOptions extends Pick<DataOptions, 'dataDir' | 'download' | 'perClass' | 'resize' | 'valSplit'>, StudyTraining {
  source: tfl.LayersModel;
  sourcePath?: string;
  task: string;
  epochs?: number;
  seeds?: number;
  optimizer?: OptimizerSpec;
  /** The learning-rate schedule of every training (train/schedule.ts). Default constant. */
  schedule?: string;
  /** Loss weight per class, every arm (FitOptions.classWeight). Default none. */
  classWeight?: ClassWeight;
  batchSize?: number;
  /** The last reused layer. Default: all but the output layer; an ONNX source, already cut, is reused whole (-1). */
  cut?: LayerRef;
  onPoint?: (n: number, arm: LayersArm, seed: number, testAccuracy: number) => void;
}

/** A fully resolved layers study: serialisable, so a shard's fingerprint can hold it. */
export interface LayersPlan extends StudyTraining {
  task: string;
  epochs: number;
  seeds: number[];
  optimizer: Required<OptimizerSpec>;
  batchSize: number;
  schedule?: string;
  classWeight?: ClassWeight;
  /** The source's weight layers before its output, in order: n copies the first n. */
  weightLayers: string[];
  /** The cut, when not the default. */
  cut?: LayerRef;
  data: Pick<DataOptions, 'dataDir' | 'download' | 'perClass' | 'resize' | 'modelInput' | 'valSplit'>;
}

/** One trial: a seed, how many layers are copied, and the arm. */
export interface LayersKey {
  seed: number;
  n: number;
  arm: LayersArm;
}

export async function planLayers(options: LayersOptions): Promise<LayersPlan> {
  const probe = await transfer(options.source, { head: { classes: 2 }, ...(options.cut !== undefined && { cut: options.cut }) });
  const weightLayers = probe.reused.filter((l) => l.weights.length > 0).map((l) => l.name);
  disposeModel(probe.model);
  if (weightLayers.length === 0) throw new GraftError('BAD_ARGUMENT', 'The source has no weight layers before its output; there is nothing to transfer layer by layer.');
  const plan: LayersPlan = {
    task: options.task,
    epochs: options.epochs ?? LAYERS_DEFAULTS.epochs,
    seeds: Array.from({ length: options.seeds ?? LAYERS_DEFAULTS.seeds }, (_, i) => i),
    optimizer: resolveOptimizer(options.optimizer ?? LAYERS_DEFAULTS.optimizer),
    batchSize: options.batchSize ?? LAYERS_DEFAULTS.batchSize,
    weightLayers,
    ...(options.schedule !== undefined && { schedule: options.schedule }),
    ...(options.classWeight !== undefined && { classWeight: options.classWeight }),
    ...pickStudyTraining(options),
    ...(options.cut !== undefined && { cut: options.cut }),
    data: {
      modelInput: options.source.inputs[0]!.shape,
      ...(options.resize !== undefined && { resize: options.resize }),
      ...(options.perClass !== undefined && { perClass: options.perClass }),
      ...(options.valSplit !== undefined && { valSplit: options.valSplit }),
      ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
      ...(options.download !== undefined && { download: options.download }),
    },
  };
  checkStudyTraining({ ...plan, schedules: [plan.schedule] });
  checkLayersValidation({ ...plan, valSplit: plan.data.valSplit });
  return plan;
}

/** Keep best and reduce on plateau watch a validation metric: refused before any trial (or folder) when layers holds out none. */
export function checkLayersValidation(o: Pick<StudyTraining, 'keepBest' | 'reduceOnPlateau'> & { valSplit?: number | undefined }): void {
  if ((o.keepBest || o.reduceOnPlateau) && !o.valSplit) {
    const what = o.keepBest ? 'Keeping the best weights (--keep best, keepBest)' : 'Reduce on plateau (--reduce-on-plateau, reduceOnPlateau)';
    throw new GraftError('BAD_ARGUMENT', `${what} watches a validation metric, but graft layers holds out none; received valSplit ${String(o.valSplit ?? 'none')}. Fix: add --val-split 0.2 (valSplit: 0.2 in a file), or turn it off.`);
  }
}

/** Every trial in a fixed order: seed by seed, n = 1..L, frozen and fine-tuned (and scratch once, at n = 1). */
export function layersTrialKeys(plan: LayersPlan): LayersKey[] {
  const keys: LayersKey[] = [];
  for (const seed of plan.seeds)
    for (let n = 1; n <= plan.weightLayers.length; n++)
      for (const arm of ['frozen', 'fine-tuned', 'scratch'] as const) {
        if (arm === 'scratch' && n > 1) continue; // the baseline does not depend on n
        keys.push({ seed, n, arm });
      }
  return keys;
}

/** Runs the trials at `indices` (in plan order) and returns each one's test accuracy. */
export async function runLayersTrials(source: tfl.LayersModel, plan: LayersPlan, indices: readonly number[], onPoint?: LayersOptions['onPoint']): Promise<number[]> {
  const keys = layersTrialKeys(plan);
  const accuracies: number[] = [];
  const { monitor: _monitor, batchNorm, ...controls } = pickStudyTraining(plan);
  let data: { seed: number; prepared: Awaited<ReturnType<typeof prepareTask>> } | undefined;
  for (const i of indices) {
    const { seed, n, arm } = keys[i]!;
    // Once per seed, as the trials of a seed come together.
    if (data?.seed !== seed) data = { seed, prepared: await prepareTask(plan.task, { seed, ...plan.data }) };
    const { train, test, validation } = data.prepared;
    const t = await transfer(source, { head: { classes: train.classNames.length }, seed, freeze: 'none', ...(plan.cut !== undefined && { cut: plan.cut }) });
    const lastCopied = t.reused.findIndex((l) => l.name === plan.weightLayers[n - 1]);
    const copied = arm === 'scratch' ? [] : t.reused.slice(0, lastCopied + 1);
    reinitialize(t.reused.filter((l) => !copied.includes(l)), seed);
    applyFreeze(t.reused, arm === 'frozen' ? { names: copied.map((l) => l.name) } : 'none');
    await fit(t.model, train, {
      epochs: plan.epochs,
      optimizer: plan.optimizer,
      seed,
      batchSize: plan.batchSize,
      phase: arm,
      ...(plan.schedule !== undefined && { schedule: plan.schedule }),
      ...(plan.classWeight !== undefined && { classWeight: plan.classWeight }),
      ...controls,
      ...(batchNorm !== undefined && { batchNorm }),
      ...(validation && { validation }),
    });
    const acc = (await evaluateOn(t.model, test)).evaluation.accuracy;
    disposeModel(t.model);
    accuracies.push(acc);
    onPoint?.(n, arm, seed, acc);
  }
  return accuracies;
}

/** The result from every trial's accuracy, in plan order. */
export function buildLayersResult(plan: LayersPlan, accuracies: readonly number[], source: string, backend = activeBackend()?.name ?? 'unknown'): LayersResult {
  const values = new Map<string, number[]>();
  layersTrialKeys(plan).forEach(({ n, arm }, i) => {
    const key = `${arm === 'scratch' ? 0 : n}|${arm}`;
    values.set(key, [...(values.get(key) ?? []), accuracies[i]!]);
  });
  const interval = (xs: number[]): Interval & { values: number[] } => ({ ...confidenceInterval(xs), values: xs });
  const scratch = interval(values.get('0|scratch') ?? []);
  return {
    kind: 'layers',
    createdAt: new Date().toISOString(),
    graftVersion: GRAFT_VERSION,
    backend,
    source,
    task: plan.task,
    epochs: plan.epochs,
    seeds: plan.seeds,
    settings: {
      optimizer: describeOptimizer(plan.optimizer),
      batchSize: plan.batchSize,
      ...(plan.schedule !== undefined && { schedule: scheduleText(plan.schedule)! }),
      ...(plan.classWeight !== undefined && { classWeight: formatClassWeight(plan.classWeight) }),
      ...(plan.data.valSplit !== undefined && { valSplit: plan.data.valSplit }),
      ...studyTrainingRecord(plan),
    },
    points: plan.weightLayers.map((layer, i) => ({
      n: i + 1,
      layer,
      arms: { frozen: interval(values.get(`${i + 1}|frozen`) ?? []), 'fine-tuned': interval(values.get(`${i + 1}|fine-tuned`) ?? []), scratch },
    })),
  };
}

/**
 * Layer transferability: for n = 1..L, copy the source's first n weight layers and re-initialise
 * the rest of the same architecture; train with the copied layers frozen, or fine-tuned, and compare
 * with the whole architecture from scratch. Every arm gets the same epochs, optimizer and data.
 */
export async function layerTransferability(options: LayersOptions): Promise<LayersResult> {
  const plan = await planLayers(options);
  const all = layersTrialKeys(plan).map((_, i) => i);
  return buildLayersResult(plan, await runLayersTrials(options.source, plan, all, options.onPoint), options.sourcePath ?? '(in memory)');
}
