import { appendFileSync, closeSync, lstatSync, openSync, readSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { GraftError } from '../errors.js';
import { beforeStep, writeError } from '../io/atomic.js';
import type { EpochRecord, TrainCallbacks } from './types.js';

/** Enough of a file to hold its first line: a graft log record is a few hundred bytes. */
const FIRST_LINE_BYTES = 64 * 1024;

/** Whether `line` is one of the records jsonlLogger writes. */
function isLogRecord(line: string): boolean {
  try {
    const r = JSON.parse(line) as Partial<EpochRecord> | null;
    return typeof r === 'object' && r !== null && typeof r.phase === 'string' && Number.isInteger(r.epoch) && 'loss' in r && 'accuracy' in r;
  } catch {
    return false;
  }
}

/**
 * Refuses a log path graft must not append to: anything but a regular file (a folder, a FIFO, a
 * device), or a non-empty file whose first line is not a graft log record (a run's weights.bin,
 * someone's notes). Reads at most the first 64 KB, and writes nothing.
 */
export function checkLogFile(file: string): void {
  let st;
  try {
    st = lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw writeError(e, file, true);
    let parent;
    try {
      parent = statSync(path.dirname(path.resolve(file)));
    } catch (err) {
      throw writeError(err, file, true);
    }
    if (!parent.isDirectory()) throw new GraftError('WRITE_FAILED', `Cannot write the log ${file}: ${path.dirname(file)} is not a folder. Choose another --log.`);
    return;
  }
  if (!st.isFile()) throw new GraftError('OUTPUT_PROTECTED', `--log ${file} is not a regular file (${st.isDirectory() ? 'a folder' : st.isSymbolicLink() ? 'a symbolic link' : 'a special file'}). Give the path of a new file, or of a log graft wrote before; nothing was changed.`);
  if (st.size === 0) return;
  const fd = openSync(file, 'r');
  let head: string;
  try {
    const buf = Buffer.alloc(Math.min(st.size, FIRST_LINE_BYTES));
    head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
  const first = head.split('\n')[0] ?? '';
  if (!isLogRecord(first)) {
    throw new GraftError('OUTPUT_PROTECTED', `--log ${file} already exists and is not a graft training log (its first line is not a graft epoch record). graft appends only to its own logs; nothing was changed. Give the path of a new file.`);
  }
}

/**
 * Appends one JSON line per epoch to `file` as training runs, so a long run can be followed with
 * `tail -f`. The path is checked at once (checkLogFile), but the file is opened only when the first
 * epoch ends: a command refused for any other reason leaves it as it was. An existing graft log is
 * continued, never truncated (a resumed run continues its log). The run folder gets its own
 * history.jsonl at the end.
 */
export function jsonlLogger(file: string): TrainCallbacks {
  checkLogFile(file);
  let checked = false;
  return {
    onEpochEnd(record: EpochRecord) {
      // Checked again: something else may have been put there while training ran.
      if (!checked) checkLogFile(file);
      checked = true;
      try {
        beforeStep('write', file);
        appendFileSync(file, `${JSON.stringify(record)}\n`);
      } catch (e) {
        throw writeError(e, file);
      }
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
