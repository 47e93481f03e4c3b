import { describe, expect, it } from 'vitest';
import { intervalChart } from '../../src/report/svg/interval-chart.js';
import { lineChart } from '../../src/report/svg/line-chart.js';
import { placeMarkerLabel, segmentHitsRect } from '../../src/report/svg/label-place.js';
import { headingLines } from '../../src/report/svg/confusion.js';
import { renderReport } from '../../src/report/render.js';
import { confidenceInterval } from '../../src/evaluate/stats.js';
import type { LayersResult } from '../../src/evaluate/layers-result.js';

/** Every y coordinate the whiskers' paths visit ("M x y", "V y"; "h" keeps y). */
function whiskerYs(svg: string): number[] {
  return [...svg.matchAll(/<path d="([^"]+)"/g)].flatMap((m) => [...m[1]!.matchAll(/M[\d.-]+ ([\d.-]+)|V([\d.-]+)/g)].map((p) => Number(p[1] ?? p[2])));
}

/** The y pixel of a tick label, from the y axis. */
function tickY(svg: string, label: string): number {
  const m = new RegExp(`<line x1="[\\d.]+" x2="[\\d.]+" y1="([\\d.]+)" y2="[\\d.]+" stroke="[^"]+"/><text[^>]*>${label}</text>`).exec(svg);
  if (!m) throw new Error(`no tick ${label} in the y axis`);
  return Number(m[1]);
}

describe('interval chart bounds', () => {
  const svg = intervalChart({
    title: 'accuracy',
    xLabel: 'n',
    yLabel: 'test accuracy (%)',
    categories: ['1', '2'],
    arms: [{ name: 'frozen', color: '#00f', values: [{ mean: 50, low: -0.3, high: 104 }, { mean: 90, low: 85, high: 95 }] }],
    yBounds: [0, 100],
  });

  it('clips an interval of [−0.3, 104]% to [0, 100]: the axis ends at 100 and no whisker passes 0 or 100', () => {
    expect(svg).not.toMatch(/>(10[1-9]|1[1-9]\d|−\d+)<\/text>/);
    const top = tickY(svg, '100');
    const bottom = tickY(svg, '0');
    expect(whiskerYs(svg)).toHaveLength(6);
    for (const y of whiskerYs(svg)) {
      expect(y).toBeGreaterThanOrEqual(top);
      expect(y).toBeLessThanOrEqual(bottom);
    }
  });
  it('draws no end cap where the interval was cut, and the tooltip keeps the computed interval', () => {
    const [cut, whole] = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1]!);
    expect(cut!.match(/h12/g)).toBeNull();
    expect(whole!.match(/h12/g)).toHaveLength(2);
    expect(svg).toContain('95% CI −0.3 to 104');
  });
});

describe('the layers report', () => {
  const arm = (xs: number[]) => ({ ...confidenceInterval(xs), values: xs });
  const layers: LayersResult = {
    kind: 'layers', createdAt: '2026-01-01', graftVersion: 't', backend: 'wasm', source: 'runs/a', task: 't', epochs: 5, seeds: [0, 1, 2],
    points: [{ n: 1, layer: 'dense', arms: { frozen: arm([0.97, 0.99, 0.999]), 'fine-tuned': arm([0.95, 0.96, 0.999]), scratch: arm([0.93, 0.9, 0.92]) } }],
  };
  it('draws accuracy intervals (98.6% ± 3.7) within 100%', () => {
    const svg = /<section id="layers">[\s\S]*?(<svg[\s\S]*?<\/svg>)/.exec(renderReport({ title: 'l', runs: [], layers }))![1]!;
    const top = tickY(svg, '100');
    expect(whiskerYs(svg).length).toBeGreaterThan(0);
    for (const y of whiskerYs(svg)) expect(y).toBeGreaterThanOrEqual(top);
    expect(svg).not.toMatch(/>105<\/text>/);
  });
});

describe('the phase marker label', () => {
  // A transferred model's accuracy starts high: the curve runs along the top of the plot, where
  // the label used to be drawn.
  const epochs = Array.from({ length: 20 }, (_, i) => i + 1);
  const svg = lineChart({
    title: 'accuracy',
    xLabel: 'epoch',
    yLabel: 'accuracy (%)',
    series: [
      { name: 'training accuracy', color: '#00f', points: epochs.map((x) => ({ x, y: 80 + 20 * (1 - Math.exp(-x / 1.2)) })) },
      { name: 'validation accuracy', color: '#f00', dashed: true, points: epochs.map((x) => ({ x, y: 79 + 20 * (1 - Math.exp(-x / 1.2)) })) },
    ],
    markers: [{ x: 4.5, label: 'unfrozen' }],
    yMax: 100,
  });

  it("does not overlap the curves' points or lines", () => {
    const text = /<g class="marker">.*?<text x="([\d.]+)" y="([\d.]+)"( text-anchor="end")?[^>]*>unfrozen<\/text>/.exec(svg)!;
    const [x, base, end] = [Number(text[1]), Number(text[2]), text[3] !== undefined];
    // Generous box for 8 characters of bold 12 px text: 8 px each, 12 px above the baseline, 4 below.
    const w = 8 * 'unfrozen'.length;
    const box = { x0: end ? x - w : x, x1: end ? x : x + w, y0: base - 12, y1: base + 4 };
    const inside = (p: { x: number; y: number }): boolean => p.x >= box.x0 && p.x <= box.x1 && p.y >= box.y0 && p.y <= box.y1;
    const dots = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)" r="2.5"/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) }));
    expect(dots.length).toBe(40);
    expect(dots.filter(inside)).toEqual([]);
    // Lines sampled every half pixel.
    for (const d of [...svg.matchAll(/<path d="([^"]+)" fill="none"/g)].map((m) => m[1]!)) {
      const pts = [...d.matchAll(/[ML]([\d.]+) ([\d.]+)/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) }));
      for (let i = 1; i < pts.length; i++) {
        const [a, b] = [pts[i - 1]!, pts[i]!];
        const steps = Math.ceil(2 * Math.hypot(b.x - a.x, b.y - a.y));
        for (let k = 0; k <= steps; k++) expect(inside({ x: a.x + ((b.x - a.x) * k) / steps, y: a.y + ((b.y - a.y) * k) / steps })).toBe(false);
      }
    }
  });

  it('stays at the top, right of the line, when nothing is there', () => {
    const low = lineChart({ title: 'loss', xLabel: 'epoch', yLabel: 'loss', series: [{ name: 'loss', color: '#00f', points: epochs.map((x) => ({ x, y: 1 / x })) }], markers: [{ x: 14.5, label: 'unfrozen' }] });
    expect(low).toMatch(/<text x="[\d.]+" y="46\.0" fill="[^"]+" font-weight="600">unfrozen<\/text>/);
  });

  it('finds segments that cross a box, and misses those that pass by', () => {
    const r = { x0: 0, y0: 0, x1: 10, y1: 10 };
    expect(segmentHitsRect({ x: -5, y: 5 }, { x: 15, y: 5 }, r)).toBe(true);
    expect(segmentHitsRect({ x: -5, y: -5 }, { x: 15, y: -1 }, r)).toBe(false);
    expect(segmentHitsRect({ x: -5, y: 20 }, { x: 20, y: -5 }, r)).toBe(true);
    expect(segmentHitsRect({ x: 3, y: 3 }, { x: 3, y: 3 }, r)).toBe(true);
    // Every spot blocked: the least-crossed one, still inside the plot.
    const spot = placeMarkerLabel(50, 'x', { x0: 0, y0: 0, x1: 100, y1: 100 }, [[{ x: 0, y: 0 }, { x: 100, y: 100 }], [{ x: 100, y: 0 }, { x: 0, y: 100 }]]);
    expect(spot.box.x0).toBeGreaterThanOrEqual(0);
    expect(spot.box.x1).toBeLessThanOrEqual(100);
  });
});

describe('confusion column headings', () => {
  it('break only between words, and keep every word whole', () => {
    expect(headingLines('Staffordshire bullterrier')).toEqual(['Staffordshire', 'bullterrier']);
    expect(headingLines('golden_retriever')).toEqual(['golden_', 'retriever']);
    expect(headingLines('T-shirt/top')).toEqual(['T-shirt/top']);
    expect(headingLines('Ankle boot')).toEqual(['Ankle boot']);
    expect(headingLines('Pneumonoultramicroscopic')).toEqual(['Pneumonoultramicroscopic']);
    expect(headingLines('')).toEqual(['']);
    const name = 'American Staffordshire terrier (pit_bull-type)';
    const lines = headingLines(name);
    expect(lines.join(' ').replace(/([/_.-]) /g, '$1')).toBe(name);
    for (const word of name.split(' ')) expect(lines.some((l) => l.includes(word)) || word.includes('_') || word.includes('-')).toBe(true);
  });
});
