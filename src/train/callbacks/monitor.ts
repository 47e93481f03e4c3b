import { GraftError } from '../../errors.js';
import type { EpochRecord } from '../types.js';

/** Validation metrics a callback can watch (Keras's names: `monitor="val_loss"`). */
export const MONITOR_METRICS = ['val_loss', 'val_accuracy', 'val_auc', 'val_top_k', 'val_macro_f1'] as const;
export type MonitorMetric = (typeof MONITOR_METRICS)[number];

/** What every callback watches unless told otherwise, as in Keras. */
export const DEFAULT_MONITOR: MonitorMetric = 'val_loss';

/** Refuses a name that is not a monitorable metric; returns it typed. */
export function checkMonitor(name: string, what = 'monitor'): MonitorMetric {
  if (!(MONITOR_METRICS as readonly string[]).includes(name)) {
    throw new GraftError('BAD_ARGUMENT', `${what} received ${JSON.stringify(name)}, which is not a validation metric graft records; choose one of ${MONITOR_METRICS.join(', ')}.`);
  }
  return name as MonitorMetric;
}

/** Loss improves downwards, every other metric upwards. */
export function monitorMode(metric: MonitorMetric): 'min' | 'max' {
  return metric === 'val_loss' ? 'min' : 'max';
}

/** The metric's value in an epoch's record; undefined when the epoch did not measure it. */
export function monitorValue(record: EpochRecord, metric: MonitorMetric): number | undefined {
  switch (metric) {
    case 'val_loss':
      return record.valLoss;
    case 'val_accuracy':
      return record.valAccuracy;
    case 'val_auc':
      return record.valAuc;
    case 'val_top_k':
      return record.valTopK;
    case 'val_macro_f1':
      return record.valMacroF1;
  }
}

/**
 * The value as a score to minimise (the metric itself for loss, its negative otherwise), so
 * trackers keep one comparison and their saved `best` starts at Infinity whatever they watch.
 */
export function lowerIsBetter(metric: MonitorMetric, value: number): number {
  return monitorMode(metric) === 'min' ? value : -value;
}

/** The record's score for `metric` (lowerIsBetter), or a GraftError saying why the metric is missing. */
export function monitorScore(record: EpochRecord, metric: MonitorMetric, who: string): number {
  const v = monitorValue(record, metric);
  if (v === undefined) {
    const why = metric === 'val_auc' ? 'AUC is measured for binary tasks only' : metric === 'val_top_k' ? 'top-k accuracy is measured with more than 5 classes only' : 'this fit has no validation data';
    throw new GraftError('BAD_ARGUMENT', `${who} watches ${metric}, but epoch ${record.epoch} did not measure it (${why}). Choose another metric with --monitor (e.g. val_loss).`);
  }
  return lowerIsBetter(metric, v);
}
