/** Axis arithmetic shared by the charts: linear maps and "nice" tick values (1, 2, 5 × 10^k). */

export type Linear = (v: number) => number;

export function linear([d0, d1]: readonly [number, number], [r0, r1]: readonly [number, number]): Linear {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

/** A round step giving about `count` intervals over [lo, hi]. */
export function niceStep(lo: number, hi: number, count = 5): number {
  const raw = Math.abs(hi - lo) / Math.max(1, count) || 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}

/** Extends [lo, hi] to whole steps so the axis starts and ends on a labelled tick. */
export function niceDomain(lo: number, hi: number, count = 5, minStep = 0): { domain: [number, number]; ticks: number[]; step: number } {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (lo === hi) [lo, hi] = [lo - (Math.abs(lo) || 1) / 2, hi + (Math.abs(hi) || 1) / 2];
  const step = Math.max(niceStep(lo, hi, count), minStep);
  const a = Math.floor(lo / step + 1e-9) * step;
  const b = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  // Rounding keeps 0.30000000000000004 out of the labels.
  for (let t = a; t <= b + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { domain: [a, b], ticks, step };
}

/** Enough decimals to tell ticks `step` apart, no more. */
export function tickDecimals(step: number): number {
  return Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
}

/** Tick labels with tickDecimals(step). */
export function tickFormat(step: number): (v: number) => string {
  const decimals = tickDecimals(step);
  return (v) => {
    const s = v.toFixed(decimals);
    // "-0.0" would read as a value below zero; typographic minus for the rest.
    return (Number(s) === 0 ? (0).toFixed(decimals) : s).replace('-', '−');
  };
}
