/**
 * How many decimals a number needs so that rounding never hides its sign. An interval of
 * [−0.04, +0.03] points printed with one decimal reads "−0.0 to 0.0", which looks like it lies
 * at or below zero, while the unrounded interval (the one the verdict follows) crosses zero.
 */

/** Decimals from `min` up to `max` at which every non-zero finite value still rounds to non-zero. */
export function decimalsKeepingSign(values: readonly number[], min: number, max = 6): number {
  for (let d = min; d < max; d++) {
    if (values.every((v) => !Number.isFinite(v) || v === 0 || Number(v.toFixed(d)) !== 0)) return d;
  }
  return Math.max(min, max);
}

/**
 * A signed number with `digits` decimals and a typographic minus; "+" for positive values; a
 * value that still rounds to zero but is not zero keeps its sign with two significant digits.
 */
export function signedFixed(v: number, digits: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v === 0) return (0).toFixed(digits);
  const s = v.toFixed(digits);
  const shown = Number(s) === 0 ? Math.abs(v).toPrecision(2) : s.replace(/^-/, '');
  return `${v < 0 ? '−' : '+'}${shown}`;
}
