import type * as tfl from '@tensorflow/tfjs-layers';
import { activeBackend } from '../../engine/backend.js';
import { engineFromEnv } from '../../engine/engine-choice.js';
import type { Trial } from '../../evaluate/compare-result.js';
import { GRAFT_VERSION } from '../../version.js';
import { planCompare, planData, runTrialPair, trialKeys, type CompareOptions, type ComparePlan } from '../compare.js';
import { layersTrialKeys, planLayers, runLayersTrials, type LayersOptions, type LayersPlan } from '../layers.js';
import { prepareTask, type PreparedData } from '../prepare.js';
import { planSweep, prepareSweep, trainSweepConfig, type SweepOptions, type SweepPlan, type SweepRunTrial } from '../sweep.js';
import { disposeModel } from '../../models/dispose.js';
import { dataHash, fingerprintOf, type ShardFingerprint, type ShardKind } from '../shard.js';

/**
 * The three studies a queue runs, side by side: how the coordinator plans and fingerprints one, and
 * how a worker rebuilds its data and runs one trial unit. The fingerprint is the shards' own
 * (shard.ts), so a queued trial is reproduced under exactly the conditions a shard would be.
 */

export type StudyPlan = ComparePlan | LayersPlan | SweepPlan;

/** What one trial unit gives back: a compare pair, a layers test accuracy, a sweep configuration's validation scores (never a test score). */
export type UnitResult = [Trial, Trial] | number | SweepRunTrial;

/** A study ready to enqueue. */
export interface PlannedStudy {
  kind: ShardKind;
  plan: StudyPlan;
  fingerprint: ShardFingerprint;
  total: number;
  classNames: string[];
}

export async function planQueuedCompare(options: CompareOptions): Promise<PlannedStudy> {
  const plan = planCompare(options);
  const data = await prepareTask(plan.task, planData(plan));
  // Where the data lies may differ between machines; its content is fingerprinted instead.
  const { dataDir: _dir, download: _download, ...shared } = plan;
  const fingerprint = await fingerprintOf('compare', data.task, shared, options.source, [data.train, data.validation, data.test]);
  return { kind: 'compare', plan, fingerprint, total: trialKeys(plan).length, classNames: [...data.test.classNames] };
}

export async function planQueuedLayers(options: LayersOptions): Promise<PlannedStudy> {
  const plan = await planLayers(options);
  const data = await layersData(plan);
  const { dataDir: _dir, download: _download, ...sharedData } = plan.data;
  const fingerprint = await fingerprintOf('layers', data.task, { ...plan, data: sharedData }, options.source, [data.train, data.validation, data.test]);
  return { kind: 'layers', plan, fingerprint, total: layersTrialKeys(plan).length, classNames: [...data.test.classNames] };
}

/** A sweep's trials are its configurations; the test set is not touched here (the coordinator scores its choice once, at the end). */
export async function planQueuedSweep(options: SweepOptions): Promise<PlannedStudy> {
  const plan = planSweep(options);
  const data = await prepareSweep(plan);
  const { dataDir: _dir, download: _download, ...sharedData } = plan.data;
  const fingerprint = await fingerprintOf('sweep', data.task, { ...plan, data: sharedData }, options.source, [data.train, data.validation, data.test]);
  return { kind: 'sweep', plan, fingerprint, total: plan.configs.length, classNames: [...data.test.classNames] };
}

// A worker runs many configurations of one sweep: its split is prepared once (keyed by the plan).
let sweepCache: { key: string; data: ReturnType<typeof prepareSweep> } | undefined;
export function sweepData(plan: SweepPlan): ReturnType<typeof prepareSweep> {
  const key = JSON.stringify(plan);
  if (sweepCache?.key !== key) {
    const data = prepareSweep(plan);
    sweepCache = { key, data };
    // A failed preparation is not kept: the next trial tries again.
    data.catch(() => {
      if (sweepCache?.data === data) sweepCache = undefined;
    });
  }
  return sweepCache.data;
}

function layersData(plan: LayersPlan): Promise<PreparedData> {
  // As shard.ts: the whole training set, not one seed's subsample, is what is fingerprinted.
  const { dataDir, download, perClass: _perClass, ...fitted } = plan.data;
  return prepareTask(plan.task, { ...fitted, ...(dataDir !== undefined && { dataDir }), ...(download !== undefined && { download }) });
}

/** The job's plan with this worker's data location, when it has its own. */
export function planHere(kind: ShardKind, plan: unknown, dataDir: string | undefined): StudyPlan {
  if (dataDir === undefined) return plan as StudyPlan;
  if (kind === 'compare') return { ...(plan as ComparePlan), dataDir };
  if (kind === 'sweep') {
    const p = plan as SweepPlan;
    return { ...p, data: { ...p.data, dataDir } };
  }
  const p = plan as LayersPlan;
  return { ...p, data: { ...p.data, dataDir } };
}

/** The fingerprint as this worker sees it: its graft, backend, engine and data; the source hash it verified. */
export async function fingerprintHere(kind: ShardKind, plan: StudyPlan, jobFingerprint: ShardFingerprint, sourceHash: string): Promise<ShardFingerprint> {
  const data = kind === 'compare' ? await prepareTask((plan as ComparePlan).task, planData(plan as ComparePlan)) : kind === 'sweep' ? await sweepData(plan as SweepPlan) : await layersData(plan as LayersPlan);
  return {
    kind,
    graftVersion: GRAFT_VERSION,
    task: data.task,
    plan: jobFingerprint.plan,
    sourceHash,
    dataHash: dataHash([data.train, data.validation, data.test]),
    backend: activeBackend()?.name ?? 'unknown',
    engine: engineFromEnv(),
  };
}

/** Runs trial unit `index` of the plan: a compare pair, a layers trial's test accuracy, or a sweep configuration scored on validation. */
export async function runTrialUnit(kind: ShardKind, source: tfl.LayersModel, plan: StudyPlan, index: number): Promise<UnitResult> {
  if (kind === 'compare') {
    const p = plan as ComparePlan;
    return runTrialPair(source, p, trialKeys(p)[index]!);
  }
  if (kind === 'sweep') {
    const p = plan as SweepPlan;
    const { trial, model } = await trainSweepConfig(source, p, await sweepData(p), index);
    // Freed unscored: the choice among all configurations, and its one test score, are the coordinator's.
    disposeModel(model);
    return trial;
  }
  const [accuracy] = await runLayersTrials(source, plan as LayersPlan, [index]);
  return accuracy!;
}

/** "5/class seed 1", "n=2 frozen seed 0" or "configuration 3 (…)": what a trial unit is, for progress lines. */
export function describeUnit(kind: ShardKind, plan: unknown, index: number): string {
  if (kind === 'sweep') {
    const c = (plan as SweepPlan).configs[index];
    return c ? `configuration ${index + 1} (cut ${c.cut ?? 'default'}, freeze ${c.freeze}, ${c.frozenEpochs}+${c.unfrozenEpochs} epochs, lr ${c.frozenLr}/${c.unfrozenLr})` : `configuration ${index + 1}`;
  }
  if (kind === 'compare') {
    const k = trialKeys(plan as ComparePlan)[index];
    return k ? `${k.trainSize === 'all' ? 'all' : `${k.trainSize}/class`} seed ${k.seed}` : `pair ${index}`;
  }
  const k = layersTrialKeys(plan as LayersPlan)[index];
  return k ? `n=${k.n} ${k.arm} seed ${k.seed}` : `trial ${index}`;
}
