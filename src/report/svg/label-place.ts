/**
 * Where to put a short label beside a vertical marker line so that it covers no curve: the
 * report has no layout engine, so text size is estimated and curves are tested as segments.
 */

export interface Point {
  x: number;
  y: number;
}

/** A text's box in SVG coordinates. */
export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface LabelSpot {
  /** Text anchor point: x with `anchor`, y is the baseline. */
  x: number;
  y: number;
  anchor: 'start' | 'end';
  box: Rect;
}

/** Width of bold 12 px system-ui text: about 7.5 px per character, a little generous. */
export function textBox(x: number, baseline: number, text: string, anchor: 'start' | 'end'): Rect {
  const w = 7.5 * [...text].length;
  const x0 = anchor === 'start' ? x : x - w;
  // Cap height above the baseline, descenders below.
  return { x0, y0: baseline - 11, x1: x0 + w, y1: baseline + 4 };
}

/** Does the segment a–b cross or touch the rectangle (grown by `pad`)? Liang–Barsky clipping. */
export function segmentHitsRect(a: Point, b: Point, r: Rect, pad = 0): boolean {
  const [x0, y0, x1, y1] = [r.x0 - pad, r.y0 - pad, r.x1 + pad, r.y1 + pad];
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  let t0 = 0;
  let t1 = 1;
  for (const [p, q] of [[-dx, a.x - x0], [dx, x1 - a.x], [-dy, a.y - y0], [dy, y1 - a.y]] as const) {
    if (p === 0) {
      if (q < 0) return false;
      continue;
    }
    const t = q / p;
    if (p < 0) t0 = Math.max(t0, t);
    else t1 = Math.min(t1, t);
    if (t0 > t1) return false;
  }
  return true;
}

/**
 * The first spot, top to bottom and right of the line before left, whose box stays inside the
 * plot and crosses no curve (each curve a polyline; a gap is a break between polylines). When
 * every spot crosses something, the one crossing the fewest segments.
 */
export function placeMarkerLabel(lineX: number, text: string, plot: Rect, curves: ReadonlyArray<readonly Point[]>): LabelSpot {
  const segments: Array<[Point, Point]> = curves.flatMap((c) => c.slice(1).map((p, i): [Point, Point] => [c[i]!, p]));
  const dots = curves.flat();
  const rows = 8;
  const spots: LabelSpot[] = [];
  for (let k = 0; k < rows; k++) {
    const y = plot.y0 + 12 + (k * (plot.y1 - plot.y0 - 18)) / (rows - 1);
    for (const anchor of ['start', 'end'] as const) {
      const x = anchor === 'start' ? lineX + 4 : lineX - 4;
      const box = textBox(x, y, text, anchor);
      if (box.x0 >= plot.x0 && box.x1 <= plot.x1) spots.push({ x, y, anchor, box });
    }
  }
  if (spots.length === 0) spots.push({ x: lineX + 4, y: plot.y0 + 12, anchor: 'start', box: textBox(lineX + 4, plot.y0 + 12, text, 'start') });
  // Dots are drawn with radius 2.5; keep a pixel more clear around them and the lines.
  const hits = (s: LabelSpot): number => segments.filter(([a, b]) => segmentHitsRect(a, b, s.box, 2)).length + dots.filter((d) => segmentHitsRect(d, d, s.box, 3.5)).length;
  let best = spots[0]!;
  let fewest = Infinity;
  for (const s of spots) {
    const n = hits(s);
    if (n === 0) return s;
    if (n < fewest) [best, fewest] = [s, n];
  }
  return best;
}
