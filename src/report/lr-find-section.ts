import { lineChart } from './svg/line-chart.js';
import { esc } from './svg/escape.js';
import type { VerdictText } from './verdict-text.js';

/** What `graft lr-find` writes to lr-find.json and the report shows (a data-only copy of the result). */
export interface LrFindRecord {
  task: string;
  source: string;
  createdAt: string;
  rates: number[];
  losses: number[];
  smoothed: number[];
  steps: number;
  stoppedEarly: boolean;
  min: number;
  max: number;
  batchSize: number;
  optimizer: string;
  engine: string;
  suggestion: { steepest?: number; minimumOverTen?: number; suggested?: number };
}

const rate = (r: number): string => r.toExponential(1).replace('e+', 'e');

/** The range test's curve: smoothed loss over log10(rate), with the suggestions marked. */
export function lrFindSection(r: LrFindRecord, id: string): string {
  const x = r.rates.map((v) => Math.log10(v));
  // The step that ended the test sits far above the rest; as fastai's plot does, it is left out so the valley stays readable.
  const shown = r.stoppedEarly ? r.rates.length - 1 : r.rates.length;
  const smoothed = r.smoothed.slice(0, shown).map((y, i) => ({ x: x[i]!, y }));
  const cap = Math.max(...r.smoothed.slice(0, shown).filter(Number.isFinite));
  const raw = r.losses.slice(0, shown).map((y, i) => ({ x: x[i]!, y: y <= cap * 1.5 ? y : Number.NaN }));
  const markers = [
    ...(r.suggestion.minimumOverTen !== undefined ? [{ x: Math.log10(r.suggestion.minimumOverTen), label: `minimum ÷ 10: ${rate(r.suggestion.minimumOverTen)}` }] : []),
    ...(r.suggestion.steepest !== undefined ? [{ x: Math.log10(r.suggestion.steepest), label: `steepest: ${rate(r.suggestion.steepest)}` }] : []),
  ];
  const chart = lineChart({
    title: 'Loss as the learning rate rises',
    xLabel: 'log10(learning rate)',
    yLabel: 'training loss',
    series: [
      { name: 'loss per batch', color: '#9aa5b1', dashed: true, points: raw },
      { name: 'smoothed (β 0.98)', color: '#1f6feb', points: smoothed },
    ],
    markers,
  });
  const end = r.stoppedEarly ? `stopped after ${r.rates.length} of ${r.steps} steps, when the smoothed loss passed 4× its best` : `ran all ${r.steps} steps`;
  return [
    `<section id="${esc(id)}">`,
    '<h2>Learning-rate range test</h2>',
    `<p>${esc(`${r.task}, from ${r.source}: ${r.optimizer}, batch size ${r.batchSize}, rates ${rate(r.min)} to ${rate(r.max)} rising exponentially; ${end} (engine ${r.engine}).`)}</p>`,
    chart,
    `<p class="note">${esc('Pick a rate where the smoothed loss still falls steeply, before its minimum. graft suggests the steepest point (the more stable across seeds in its tests); the minimum ÷ 10 is shown too.')}</p>`,
    '</section>',
  ].join('\n');
}

/** The report's answer box for a range test. */
export function lrFindVerdict(r: LrFindRecord): VerdictText {
  const s = r.suggestion;
  const lines = s.suggested !== undefined ? [{ text: `Suggested learning rate: ${rate(s.suggested)} (steepest descent of the smoothed loss${s.minimumOverTen !== undefined ? `; its minimum ÷ 10 is ${rate(s.minimumOverTen)}` : ''}).` }] : [{ text: 'No suggestion: the loss curve has too few finite points.' }];
  return { lines, caveats: r.rates.length < 20 ? [`Only ${r.rates.length} steps: the curve is short and the suggestion rough; raise --steps or --max.`] : [] };
}
