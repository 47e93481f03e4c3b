import { appendFileSync, writeFileSync } from 'node:fs';
import type { EpochRecord, TrainCallbacks } from './types.js';

/**
 * Appends one JSON line per epoch to `file` as training runs, so a long run can be followed with
 * `tail -f`. The file is started empty, unless `append` (a resumed run continues its log). The run
 * directory gets its own history.jsonl at the end.
 */
export function jsonlLogger(file: string, options: { append?: boolean } = {}): TrainCallbacks {
  if (!options.append) writeFileSync(file, '');
  return {
    onEpochEnd(record: EpochRecord) {
      appendFileSync(file, `${JSON.stringify(record)}\n`);
    },
  };
}

/** Calls each set of callbacks in turn. */
export function combineCallbacks(...sets: Array<TrainCallbacks | undefined>): TrainCallbacks {
  const all = sets.filter((s): s is TrainCallbacks => s !== undefined);
  return {
    onEpochBegin: (info) => all.forEach((s) => s.onEpochBegin?.(info)),
    onBatchProgress: (p) => all.forEach((s) => s.onBatchProgress?.(p)),
    onEpochEnd: async (r) => {
      for (const s of all) await s.onEpochEnd?.(r);
    },
    onMessage: (m) => all.forEach((s) => s.onMessage?.(m)),
  };
}
