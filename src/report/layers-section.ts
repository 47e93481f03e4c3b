import type { LayersResult } from '../evaluate/layers-result.js';
import type { Interval } from '../evaluate/stats.js';
import { pct, points } from './format.js';
import { htmlTable } from './html-table.js';
import { esc } from './svg/escape.js';
import { intervalChart, type IntervalPoint } from './svg/interval-chart.js';

const COLORS = { frozen: '#1f6feb', 'fine-tuned': '#0a7d3e', scratch: '#9a6700' } as const;

/** Layer transferability: test accuracy per number of copied layers, for the three arms, with CIs. */
export function layersSection(l: LayersResult, id: string): string {
  const cell = (i: Interval): string => (Number.isFinite(i.halfWidth) ? `${pct(i.mean, 2)} ± ${points(i.halfWidth, 2)}` : pct(i.mean, 2));
  const table = htmlTable(
    'Test accuracy, mean ± 95% CI half-width over seeds',
    ['n copied', 'last copied layer', 'copied + frozen', 'copied + fine-tuned', 'from scratch'],
    l.points.map((p) => [String(p.n), p.layer, cell(p.arms.frozen), cell(p.arms['fine-tuned']), cell(p.arms.scratch)]),
  );
  const asPct = (i: Interval): IntervalPoint => ({ mean: 100 * i.mean, low: 100 * i.low, high: 100 * i.high });
  const chart = intervalChart({
    title: 'Test accuracy by number of copied layers',
    xLabel: 'weight layers copied from the source (n)',
    yLabel: 'test accuracy (%)',
    categories: l.points.map((p) => `${p.n}: ${p.layer}`),
    arms: (['frozen', 'fine-tuned', 'scratch'] as const).map((arm) => ({ name: arm === 'scratch' ? 'from scratch' : `copied + ${arm}`, color: COLORS[arm], values: l.points.map((p) => asPct(p.arms[arm])) })),
    yBounds: [0, 100],
    // Three arms per category need room; the chart is never drawn larger than this, so its text stays the size of the others'.
    width: Math.max(560, Math.min(1120, 110 * l.points.length)),
  });
  return [
    `<section id="${esc(id)}">`,
    '<h2>Layer transferability</h2>',
    `<p>${esc(`${l.task}: the first n weight layers of ${l.source} copied and the rest of the same architecture re-initialised, trained ${l.epochs} epochs with the copied layers frozen or fine-tuned; the whole architecture from scratch as the baseline (after Yosinski et al., 2014). ${l.seeds.length} seeds.`)}</p>`,
    table,
    `<div class="charts"><figure>${chart}<figcaption>Dots: mean test accuracy; whiskers: 95% confidence interval over seeds.</figcaption></figure></div>`,
    '</section>',
  ].join('\n');
}
