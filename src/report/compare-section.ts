import type { CompareResult } from '../evaluate/compare-result.js';
import type { Interval, Verdict } from '../evaluate/stats.js';
import { differencePoints, pct, points, seconds, sizeLabel } from './format.js';
import { htmlTable } from './html-table.js';
import { esc } from './svg/escape.js';
import { intervalChart, type IntervalPoint } from './svg/interval-chart.js';

const TRANSFER = '#0072B2';
const SCRATCH = '#E69F00';
export const VERDICT_COLOR: Record<Verdict, string> = { helps: '#0a7d3e', hurts: '#b42318', 'no clear difference': '#8a5a00' };
export const VERDICT_CLASS: Record<Verdict, string> = { helps: 'v-helps', hurts: 'v-hurts', 'no clear difference': 'v-unclear' };

/** Transfer vs scratch over train sizes: the table, the two charts, and every trial on demand. */
export function compareSection(c: CompareResult, id: string): string {
  const s = c.settings;
  const budget =
    `Transfer: ${s.frozenEpochs} epochs frozen with ${s.frozenOptimizer}, then ${s.unfrozenEpochs} unfrozen with ${s.unfrozenOptimizer}. ` +
    `Scratch: ${s.scratchEpochs} epochs with ${s.scratchOptimizer}. Validation split ${s.valSplit}, ` +
    `early stopping ${s.earlyStoppingPatience === null ? 'off' : `after ${s.earlyStoppingPatience} epochs without improvement`}, batch ${s.batchSize}. ` +
    `${c.seeds.length} seeds, ${c.trials.length} trials, ${seconds(c.seconds)} on ${c.backend}.`;
  const rows = c.rows.map((r) => [
    sizeLabel(r.trainSize),
    ci(r.transfer),
    ci(r.scratch),
    difference(r.difference),
    Number.isFinite(r.errorRatio) ? `${r.errorRatio.toFixed(2)}×` : '—',
    { html: `<span class="${VERDICT_CLASS[r.verdict]}">${esc(r.verdict)}</span>` },
    r.difference.n,
  ]);
  const table = htmlTable(
    'Test error, mean ± 95% CI half-width over seeds; difference in points (transfer − scratch, paired by seed)',
    ['train size', 'transfer error', 'scratch error', 'difference (95% CI)', 'scratch ÷ transfer', 'verdict', 'seeds'],
    rows,
  );
  const categories = c.rows.map((r) => sizeLabel(r.trainSize));
  const asPct = (i: Interval): IntervalPoint => ({ mean: 100 * i.mean, low: 100 * i.low, high: 100 * i.high });
  const arms = intervalChart({
    title: 'Test error by train size: transfer vs scratch',
    xLabel: 'training images per class',
    yLabel: 'test error (%)',
    categories,
    arms: [
      { name: 'transfer', color: TRANSFER, values: c.rows.map((r) => asPct(r.transfer)) },
      { name: 'from scratch', color: SCRATCH, values: c.rows.map((r) => asPct(r.scratch)) },
    ],
    yInclude: [0],
    yBounds: [0, 100],
  });
  const diff = intervalChart({
    title: 'Paired difference of test error (transfer − scratch)',
    xLabel: 'training images per class',
    yLabel: 'difference (points)',
    categories,
    arms: [{ name: 'transfer − scratch, 95% CI', color: '#3e4c59', values: c.rows.map((r) => asPct(r.difference)), colors: c.rows.map((r) => VERDICT_COLOR[r.verdict]) }],
    zeroLine: 'no difference',
  });
  return [
    `<section id="${esc(id)}">`,
    `<h2>Transfer vs from scratch</h2>`,
    `<p>${esc(`${c.task}: transfer from ${c.source} against the same architecture trained from random weights, on the same subsample, split and test set for each seed.`)}</p>`,
    `<p class="note">${esc(budget)}</p>`,
    table,
    `<div class="charts"><figure>${arms}<figcaption>Dots: mean test error; whiskers: 95% confidence interval over seeds.</figcaption></figure>`,
    `<figure>${diff}<figcaption>Below the zero line transfer had the lower error. Green: helps; red: hurts; amber: the interval includes 0.</figcaption></figure></div>`,
    trials(c),
    '</section>',
  ].join('\n');
}

/** Mean (95% CI) in points, with the decimals that keep each bound on its side of zero. */
function difference(d: Interval): string {
  const shown = differencePoints(d);
  return `${shown.mean}${Number.isFinite(d.halfWidth) ? ` (${shown.low} to ${shown.high})` : ''}`;
}

function ci(i: Interval): string {
  return Number.isFinite(i.halfWidth) ? `${pct(i.mean)} ± ${points(i.halfWidth)}` : pct(i.mean);
}

/** Every trial, folded away: the raw numbers behind each mean, for anyone who wants to check. */
function trials(c: CompareResult): string {
  if (c.trials.length === 0) return '';
  const stopped = c.trials.filter((t) => t.stopped).length;
  const rows = c.trials.map((t) => [sizeLabel(t.trainSize), t.seed, t.arm, pct(t.testError), pct(t.valAccuracy), t.epochs, t.trainCount, seconds(t.seconds), ...(stopped ? [t.stopped ?? ''] : [])]);
  // Trials the loss guard stopped were scored on untrained weights: the summary says how many.
  const note = stopped ? ` — ${stopped} stopped by the loss guard (diverged or not finite), scored on the weights from before it` : '';
  return `<details><summary>All ${c.trials.length} trials${note}</summary>${htmlTable('', ['train size', 'seed', 'arm', 'test error', 'best val. accuracy', 'epochs', 'train images', 'time', ...(stopped ? ['stopped'] : [])], rows)}</details>`;
}
