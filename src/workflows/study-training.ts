import { GraftError } from '../errors.js';
import { resolveBatchNorm, type BatchNormMode } from '../train/batchnorm-mode.js';
import { controlsRecord, pickControls, type ControlsRecord, type TrainingControls } from '../train/callbacks/controls.js';
import { checkMonitor, type MonitorMetric } from '../train/callbacks/monitor.js';
import { describeSchedule, resolveSchedule } from '../train/schedule.js';

/**
 * Issue 16's training options as a study (compare, sweep, layers) carries them in its plan: plain
 * JSON, so a plan crosses into worker threads and into a shard's fingerprint unchanged. The CLI
 * flags and the experiment file's fields both end here, through controlsOf.
 */
export interface StudyTraining extends TrainingControls {
  /** The metric early stopping watches (keep best and reduce on plateau carry their own). Default val_loss. */
  monitor?: MonitorMetric;
  /** How trainable BatchNorm layers run where reused layers train (FitOptions.batchNorm). Default auto. */
  batchNorm?: BatchNormMode;
}

/** The controls as given, before the monitor is spread to what watches it. */
export interface ControlsInput {
  labelSmoothing?: number;
  keepBest?: boolean;
  reduceOnPlateau?: { patience: number; factor?: number };
  monitor?: string;
}

/** How the caller names each control in messages: the CLI's flags or the file's fields. */
export interface ControlNames {
  monitor: string;
  watchers: string;
}

export const CLI_CONTROL_NAMES: ControlNames = { monitor: '--monitor', watchers: '--early-stopping PATIENCE, --keep best or --reduce-on-plateau PATIENCE' };
export const FILE_CONTROL_NAMES: ControlNames = { monitor: 'monitor', watchers: 'earlyStopping, keepBest: true or reduceOnPlateau' };

/**
 * The controls with `monitor` given to each watcher that is on, and returned as early stopping's
 * when `earlyStopping` says it is on; a monitor that nothing watches is refused, as it would be ignored.
 */
export function controlsOf(input: ControlsInput, earlyStopping: boolean, names: ControlNames): TrainingControls & { monitor?: MonitorMetric } {
  const monitor = input.monitor === undefined ? undefined : checkMonitor(input.monitor, names.monitor);
  const watch = monitor !== undefined ? { monitor } : {};
  const out: TrainingControls & { monitor?: MonitorMetric } = {};
  if (input.labelSmoothing !== undefined && input.labelSmoothing !== 0) out.labelSmoothing = input.labelSmoothing;
  if (input.keepBest) out.keepBest = watch;
  if (input.reduceOnPlateau) out.reduceOnPlateau = { ...watch, ...input.reduceOnPlateau };
  if (monitor !== undefined) {
    if (!input.keepBest && !input.reduceOnPlateau && !earlyStopping) {
      throw new GraftError('BAD_ARGUMENT', `${names.monitor} ${monitor} was given but nothing watches it; add ${names.watchers}.`);
    }
    // `monitor` of the result is early stopping's; the other watchers carry their own copy.
    if (earlyStopping) out.monitor = monitor;
  }
  return out;
}

/** Checks a study's training options before any trial runs (a bad schedule fails now, not in trial 40). */
export function checkStudyTraining(t: StudyTraining & { schedules?: ReadonlyArray<string | undefined> }): void {
  for (const s of t.schedules ?? []) if (s !== undefined) resolveSchedule(s);
  if (t.batchNorm !== undefined) resolveBatchNorm(t.batchNorm);
  if (t.monitor !== undefined) checkMonitor(t.monitor);
}

/** Only the options that are set, from a larger object (a plan or options). */
export function pickStudyTraining(o: StudyTraining): StudyTraining {
  // 'auto' given and left out are one choice: a plan (and a shard's fingerprint) holds neither.
  return { ...pickControls(o), ...(o.monitor !== undefined && { monitor: o.monitor }), ...(o.batchNorm !== undefined && o.batchNorm !== 'auto' && { batchNorm: o.batchNorm }) };
}

/** What a result file records of them; every default filled in, absent when none is set. */
export interface StudyTrainingRecord {
  controls?: ControlsRecord;
  monitor?: string;
  batchNorm?: BatchNormMode;
}

export function studyTrainingRecord(o: StudyTraining): StudyTrainingRecord {
  const controls = controlsRecord(o);
  return { ...(controls && { controls }), ...(o.monitor !== undefined && { monitor: o.monitor }), ...(o.batchNorm !== undefined && { batchNorm: o.batchNorm }) };
}

/** A schedule as result files state it ('cosine,warmup:1'); undefined stays undefined. */
export function scheduleText(s: string | undefined): string | undefined {
  return s === undefined ? undefined : describeSchedule(resolveSchedule(s));
}
