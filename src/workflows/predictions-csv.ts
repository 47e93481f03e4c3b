import { claimOutputFile, type ClaimOptions } from '../io/output-claim.js';
import { writeError, writeFileAtomic } from '../io/atomic.js';
import { CSV_MARK } from '../io/ownership.js';
import { GRAFT_VERSION } from '../version.js';
import type { Prediction } from './predict.js';

/**
 * `graft predict --csv FILE`: one row per image: file, predicted class, its probability, every
 * class's probability, and the error for an input that has none. The first line is a comment
 * (CSV_MARK) so that --force can tell graft's CSV from a user's (pandas: read_csv(f, comment='#')).
 */

/** RFC 4180: a field holding a comma, quote or line break is quoted, its quotes doubled. */
function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The shortest decimal that reads back as the same float32: the model's own precision, no noise digits. */
export function float32Text(v: number): string {
  const f = Math.fround(v);
  for (let digits = 1; digits < 9; digits++) {
    const text = String(Number(f.toPrecision(digits)));
    if (Math.fround(Number(text)) === f) return text;
  }
  return String(f);
}

export function predictionsCsv(results: readonly Prediction[], classNames: readonly string[], about: string): string {
  const lines = [`${CSV_MARK}${GRAFT_VERSION} (graft predict): ${about.replace(/[\r\n]/g, ' ')}`, ['file', 'class', 'probability', ...classNames.map((c) => `p(${c})`), 'error'].map(field).join(',')];
  for (const r of results) {
    const name = r.index === undefined ? r.file : `${r.file}[${r.index}]`;
    const best = r.predictions?.[0];
    const probs = r.probabilities?.map(float32Text) ?? classNames.map(() => '');
    lines.push([name, best?.class ?? '', best ? float32Text(best.probability) : '', ...probs, r.error?.message ?? ''].map(field).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Checks, before any prediction, that the CSV may be written: absent, or graft's own and --force. */
export function claimPredictionsCsv(file: string, o: ClaimOptions): Promise<void> {
  return claimOutputFile(file, 'csv', { ...o, flag: '--csv' });
}

/** Writes the CSV atomically, claiming the path again (something may have appeared there meanwhile). */
export async function writePredictionsCsv(file: string, text: string, o: ClaimOptions): Promise<void> {
  await claimPredictionsCsv(file, o);
  try {
    await writeFileAtomic(file, text);
  } catch (e) {
    throw writeError(e, file, true);
  }
}
