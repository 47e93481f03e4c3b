import type { KeepBestOptions } from './keep-best.js';
import { REDUCE_ON_PLATEAU_DEFAULTS, type ReduceOnPlateauOptions } from './reduce-on-plateau.js';
import { DEFAULT_MONITOR } from './monitor.js';

/**
 * The fit options of issue 16's loss and callback controls, as one group: workflows and fineTune
 * pass them through to every fit unchanged, and run.json records them (controlsRecord).
 */
export interface TrainingControls {
  /** FitOptions.labelSmoothing. Default 0. */
  labelSmoothing?: number;
  /** FitOptions.keepBest. Default off. */
  keepBest?: KeepBestOptions | false;
  /** FitOptions.reduceOnPlateau. Default off. */
  reduceOnPlateau?: ReduceOnPlateauOptions | false;
}

/** Only the controls that are set, to spread into FitOptions. */
export function pickControls(o: TrainingControls): TrainingControls {
  const out: TrainingControls = {};
  if (o.labelSmoothing !== undefined && o.labelSmoothing !== 0) out.labelSmoothing = o.labelSmoothing;
  if (o.keepBest) out.keepBest = o.keepBest;
  if (o.reduceOnPlateau) out.reduceOnPlateau = o.reduceOnPlateau;
  return out;
}

/** As run.json and a resume's option check keep them: every default filled in; undefined when none is set. */
export interface ControlsRecord {
  labelSmoothing?: number;
  keepBest?: { monitor: string };
  reduceOnPlateau?: { monitor: string; factor: number; patience: number; minDelta: number; cooldown: number; minLearningRate: number };
}

export function controlsRecord(o: TrainingControls): ControlsRecord | undefined {
  const p = pickControls(o);
  const r: ControlsRecord = {};
  if (p.labelSmoothing !== undefined) r.labelSmoothing = p.labelSmoothing;
  if (p.keepBest) r.keepBest = { monitor: p.keepBest.monitor ?? DEFAULT_MONITOR };
  if (p.reduceOnPlateau) r.reduceOnPlateau = { ...REDUCE_ON_PLATEAU_DEFAULTS, ...p.reduceOnPlateau };
  return Object.keys(r).length > 0 ? r : undefined;
}

/** `{ controls }` when any control is set, else nothing: spread into run.json's phase and a resume's option record. */
export function withControls(o: TrainingControls): { controls?: ControlsRecord } {
  const r = controlsRecord(o);
  return r ? { controls: r } : {};
}
