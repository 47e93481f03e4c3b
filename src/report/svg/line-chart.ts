import { esc } from './escape.js';
import { legend, MUTED, svgDocument, xAxisLine, yAxis, INK, type Box } from './frame.js';
import { linear, niceDomain, tickFormat } from './scale.js';
import { placeMarkerLabel, type Point } from './label-place.js';

export interface LineSeries {
  name: string;
  color: string;
  /** Validation curves are dashed so they read apart from training curves without colour. */
  dashed?: boolean;
  /** Non-finite y values leave a gap. */
  points: ReadonlyArray<{ x: number; y: number }>;
}

/** A labelled vertical line, e.g. where the reused layers were unfrozen. */
export interface XMarker {
  x: number;
  label: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  markers?: readonly XMarker[];
  /** Force the y range to include these (e.g. 0 for a loss, 1 for an accuracy). */
  yInclude?: readonly number[];
  /** Upper bound of the y axis (e.g. 100 for accuracy in %). */
  yMax?: number;
  /** Tick labels for y; default: plain numbers with the decimals the step needs. */
  yFormat?: (v: number) => string;
  width?: number;
  height?: number;
}

/** Several series over integer x (epochs), with dots at each point and markers at phase boundaries. */
export function lineChart(o: LineChartOptions): string {
  const box: Box = { width: o.width ?? 560, height: o.height ?? 300, left: 58, right: 18, top: 34, bottom: 44 };
  const xs = o.series.flatMap((s) => s.points.map((p) => p.x)).concat((o.markers ?? []).map((m) => m.x));
  const ys = o.series.flatMap((s) => s.points.map((p) => p.y)).filter(Number.isFinite).concat(o.yInclude ?? []);
  const xr = niceDomain(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1, 8, 1);
  let yr = niceDomain(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1, 5);
  // A bounded quantity (accuracy in %) must not get an axis past its bound.
  if (o.yMax !== undefined && yr.domain[1] > o.yMax) yr = niceDomain(Math.min(yr.domain[0], o.yMax - 1), o.yMax, 5);
  const x = linear(xr.domain, [box.left, box.width - box.right]);
  const y = linear(yr.domain, [box.height - box.bottom, box.top]);
  const fmtY = o.yFormat ?? tickFormat(yr.step);
  const yb = box.height - box.bottom;

  const xTicks = xr.ticks.map((t) => `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${yb}" y2="${yb + 4}" stroke="${MUTED}"/><text x="${x(t).toFixed(1)}" y="${yb + 16}" text-anchor="middle" fill="${MUTED}">${t}</text>`);
  // A marker's label goes where it covers no curve (nor an earlier label): at the top it sat on
  // any accuracy curve that starts high, as a transferred model's does.
  const plot = { x0: box.left, y0: box.top, x1: box.width - box.right, y1: yb };
  const curves: Point[][] = o.series.flatMap((s) => polylines(s.points).map((line) => line.map((p) => ({ x: x(p.x), y: y(p.y) }))));
  const markers = (o.markers ?? []).map((m) => {
    const px = x(m.x).toFixed(1);
    const spot = placeMarkerLabel(Number(px), m.label, plot, curves);
    const { x0, y0, x1, y1 } = spot.box;
    curves.push([{ x: x0, y: y0 }, { x: x1, y: y0 }, { x: x1, y: y1 }, { x: x0, y: y1 }, { x: x0, y: y0 }]);
    return `<g class="marker"><line x1="${px}" x2="${px}" y1="${box.top - 4}" y2="${yb}" stroke="${INK}" stroke-dasharray="3 3"/><text x="${spot.x.toFixed(1)}" y="${spot.y.toFixed(1)}"${spot.anchor === 'end' ? ' text-anchor="end"' : ''} fill="${INK}" font-weight="600">${esc(m.label)}</text></g>`;
  });
  const lines = o.series.map((s) => {
    const d = pathData(s.points, x, y);
    const dots = s.points.length <= 60 ? s.points.filter((p) => Number.isFinite(p.y)).map((p) => `<circle cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="2.5" fill="${s.color}"><title>${esc(`${s.name}, epoch ${p.x}: ${fmtPoint(p.y)}`)}</title></circle>`) : [];
    return `<g class="series" aria-label="${esc(s.name)}">${d ? `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>` : ''}${dots.join('')}</g>`;
  });
  const desc = o.series.map((s) => `${s.name}: ${s.points.length} points`).join('; ') + (o.markers?.length ? `; markers: ${o.markers.map((m) => `${m.label} at ${m.x}`).join(', ')}` : '');
  return svgDocument(box, o.title, desc, [yAxis(box, y, yr.ticks, fmtY, o.yLabel), xAxisLine(box, o.xLabel), `<g class="x-ticks">${xTicks.join('')}</g>`, ...markers, ...lines, legend(box, o.series)]);
}

/** The finite runs of a series, split at its gaps. */
function polylines(points: LineSeries['points']): Array<Array<{ x: number; y: number }>> {
  const runs: Array<Array<{ x: number; y: number }>> = [[]];
  for (const p of points) {
    if (Number.isFinite(p.y)) runs[runs.length - 1]!.push(p);
    else if (runs[runs.length - 1]!.length > 0) runs.push([]);
  }
  return runs.filter((r) => r.length > 0);
}

/** "M x y L x y …", starting a new segment after each gap. */
function pathData(points: LineSeries['points'], x: (v: number) => number, y: (v: number) => number): string {
  let d = '';
  let pen = false;
  for (const p of points) {
    if (!Number.isFinite(p.y)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${x(p.x).toFixed(1)} ${y(p.y).toFixed(1)}`;
    pen = true;
  }
  return d;
}

function fmtPoint(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
}
