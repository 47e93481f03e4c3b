import { esc } from './escape.js';
import { legend, MUTED, svgDocument, xAxisLine, yAxis, INK, type Box } from './frame.js';
import { linear, niceDomain, tickDecimals, tickFormat } from './scale.js';
import { decimalsKeepingSign, signedFixed } from '../sign-digits.js';

/** A mean with its 95% interval; NaN bounds (one seed) draw the dot without whiskers. */
export interface IntervalPoint {
  mean: number;
  low: number;
  high: number;
}

export interface IntervalArm {
  name: string;
  color: string;
  /** One per category, in category order. */
  values: ReadonlyArray<IntervalPoint | undefined>;
  /** Per-point colour (e.g. by verdict); default `color`. */
  colors?: ReadonlyArray<string | undefined>;
}

export interface IntervalChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  categories: readonly string[];
  arms: readonly IntervalArm[];
  /** Draw y = 0 as a reference ("no difference"). */
  zeroLine?: string;
  /** Force the y range to include these (e.g. 0 for an error rate). */
  yInclude?: readonly number[];
  /**
   * The values the quantity can take, e.g. [0, 100] for a percentage: whiskers stop there. A
   * t-interval from a few seeds can reach past them (98.6% ± 3.7), and an axis to 105% reads as nonsense.
   */
  yBounds?: readonly [number, number];
  yFormat?: (v: number) => string;
  width?: number;
  height?: number;
}

/** Dots with 95% CI whiskers per category; several arms sit side by side within a category. */
export function intervalChart(o: IntervalChartOptions): string {
  const box: Box = { width: o.width ?? 560, height: o.height ?? 300, left: 58, right: 18, top: 34, bottom: 44 };
  const arms = o.arms.map((arm) => ({ ...arm, values: arm.values.map((v): ReturnType<typeof clip> | undefined => (v && o.yBounds ? clip(v, o.yBounds) : v)) }));
  const finite = arms.flatMap((a) => a.values.flatMap((v) => (v ? [v.mean, v.low, v.high] : []))).filter(Number.isFinite);
  const ys = finite.concat(o.yInclude ?? [], o.zeroLine !== undefined ? [0] : []);
  const yr = niceDomain(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1, 5);
  const y = linear(yr.domain, [box.height - box.bottom, box.top]);
  const fmt = o.yFormat ?? tickFormat(yr.step);
  const band = (box.width - box.left - box.right) / Math.max(1, o.categories.length);
  const center = (i: number): number => box.left + band * (i + 0.5);
  // Arms are spread over at most 40% of a band so categories stay apart.
  const offset = (a: number): number => (o.arms.length < 2 ? 0 : (a / (o.arms.length - 1) - 0.5) * Math.min(band * 0.4, 36));
  const yb = box.height - box.bottom;

  const cats = o.categories.map((c, i) => `<text x="${center(i).toFixed(1)}" y="${yb + 16}" text-anchor="middle" fill="${MUTED}">${esc(c)}</text>`);
  // The zero line is named in the legend, not beside the line, where it could sit on a dot.
  const zero = o.zeroLine !== undefined ? `<g class="zero"><line x1="${box.left}" x2="${box.width - box.right}" y1="${y(0).toFixed(1)}" y2="${y(0).toFixed(1)}" stroke="${INK}" stroke-width="1.5"/></g>` : '';
  const marks = arms.map((arm, a) => {
    const items = arm.values.map((v, i) => {
      if (!v || !Number.isFinite(v.mean)) return '';
      const cx = (center(i) + offset(a)).toFixed(1);
      const color = arm.colors?.[i] ?? arm.color;
      const hasCi = Number.isFinite(v.low) && Number.isFinite(v.high);
      // A bound cut at yBounds gets no end cap: the interval goes on past what the axis can show.
      const cap = (b: number, cut: boolean | undefined): string => (cut ? '' : `M${Number(cx) - 6} ${y(b).toFixed(1)}h12`);
      const whisker = hasCi
        ? `<path d="M${cx} ${y(v.low).toFixed(1)}V${y(v.high).toFixed(1)}${cap(v.low, v.cutLow)}${cap(v.high, v.cutHigh)}" stroke="${color}" stroke-width="1.8" fill="none"/>`
        : '';
      // The tooltip gives the interval as computed (also where the whisker is cut), with the
      // decimals that keep each bound's sign: tick decimals could round one to "0".
      const r = v.raw ?? v;
      const f = o.yFormat ?? valueFormat(yr.step, [r.mean, r.low, r.high]);
      const label = `${arm.name}, ${o.categories[i] ?? i}: ${f(r.mean)}${hasCi ? ` (95% CI ${f(r.low)} to ${f(r.high)})` : ' (no interval: one seed)'}`;
      return `${whisker}<circle cx="${cx}" cy="${y(v.mean).toFixed(1)}" r="4" fill="${color}" stroke="#fff" stroke-width="1"><title>${esc(label)}</title></circle>`;
    });
    return `<g class="arm" aria-label="${esc(arm.name)}">${items.join('')}</g>`;
  });
  const desc = arms.map((arm) => `${arm.name}: ${arm.values.map((v, i) => `${o.categories[i]} ${v ? fmt(v.mean) : 'none'}`).join(', ')}`).join('; ');
  return svgDocument(box, o.title, desc, [
    yAxis(box, y, yr.ticks, fmt, o.yLabel),
    xAxisLine(box, o.xLabel),
    `<g class="categories">${cats.join('')}</g>`,
    zero,
    ...marks,
    legend(box, [...arms.map((arm) => ({ name: arm.name, color: arm.color, dot: true })), ...(o.zeroLine !== undefined ? [{ name: o.zeroLine, color: INK }] : [])]),
  ]);
}

/** The interval within the bounds, remembering which ends were cut. */
function clip(v: IntervalPoint, [lo, hi]: readonly [number, number]): IntervalPoint & { cutLow?: boolean; cutHigh?: boolean; raw?: IntervalPoint } {
  const c = (x: number): number => (Number.isFinite(x) ? Math.min(hi, Math.max(lo, x)) : x);
  return { mean: c(v.mean), low: c(v.low), high: c(v.high), cutLow: v.low < lo, cutHigh: v.high > hi, raw: v };
}

/** At least the ticks' decimals, more where a non-zero value would otherwise print as 0. */
function valueFormat(step: number, values: readonly number[]): (v: number) => string {
  const digits = decimalsKeepingSign(values, tickDecimals(step));
  return (v) => (v === 0 || !Number.isFinite(v) ? tickFormat(step)(v) : signedFixed(v, digits).replace(/^\+/, ''));
}
