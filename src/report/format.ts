import type { TrainSize } from '../evaluate/compare-result.js';
import { decimalsKeepingSign, signedFixed } from './sign-digits.js';

/** Number formats the report uses everywhere, so a value reads the same in sentences and tables. */

/** Typographic minus: "−8.3" reads better than "-8.3" and does not break across lines. */
export function minus(text: string): string {
  return text.replace(/^-/, '−').replace(/(\s)-(\d)/g, '$1−$2');
}

/** A fraction as a percentage: 0.123 → "12.3%"; missing values → "—". */
export function pct(x: number | undefined, digits = 1): string {
  return x !== undefined && Number.isFinite(x) ? minus(`${(100 * x).toFixed(digits)}%`) : '—';
}

/** A fraction as percentage points without the sign: 0.083 → "8.3". */
export function points(x: number, digits = 1): string {
  return Number.isFinite(x) ? minus((100 * x).toFixed(digits)) : '—';
}

/** A signed difference in points: −0.083 → "−8.3", 0.02 → "+2.0"; a non-zero value never shows as "0.0". */
export function signedPoints(x: number, digits = 1): string {
  return signedFixed(100 * x, digits);
}

/**
 * A difference's mean and 95% interval in points, all with one number of decimals: at least
 * `digits`, more where fewer would round a bound to 0 and so contradict the verdict (which
 * follows the unrounded interval): "−0.04 (−0.09 to +0.01)", not "0.0 (−0.1 to 0.0)".
 */
export function differencePoints(d: { mean: number; low: number; high: number }, digits = 1): { mean: string; low: string; high: string } {
  const n = decimalsKeepingSign([d.mean, d.low, d.high].map((v) => 100 * v), digits);
  return { mean: signedPoints(d.mean, n), low: signedPoints(d.low, n), high: signedPoints(d.high, n) };
}

export function num(x: number | undefined, digits = 3): string {
  return x !== undefined && Number.isFinite(x) ? minus(x.toFixed(digits)) : '—';
}

export function seconds(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '—';
  return s < 90 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** Axis and table label of a train size. */
export function sizeLabel(size: TrainSize): string {
  return size === 'all' ? 'all' : `${size}/class`;
}

/** The start of a verdict sentence: "At 10 images per class" / "With the whole training set". */
export function sizePhrase(size: TrainSize): string {
  return size === 'all' ? 'With the whole training set' : `At ${size} image${size === 1 ? '' : 's'} per class`;
}
