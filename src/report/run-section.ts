import type { PhaseRecord } from '../io/run-dir.js';
import { num, pct, seconds } from './format.js';
import { htmlTable } from './html-table.js';
import type { ReportRun } from './input.js';
import { confusionTable } from './svg/confusion.js';
import { esc } from './svg/escape.js';
import { lineChart, type LineSeries, type XMarker } from './svg/line-chart.js';
import { validationSection } from './validation-section.js';

/** Okabe–Ito colours: distinguishable with colour-vision deficiencies. */
const TRAIN = '#0072B2';
const VALIDATION = '#D55E00';

/** Only embedded images: a URL in examples.json must not make the report reach the network. */
const DATA_URI = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$/;

/** One run: what it was, how it learned, where it is wrong. */
export function runSection(r: ReportRun, id: string): string {
  const { run } = r;
  return [
    `<section id="${esc(id)}">`,
    `<h2>${esc(r.name)}<span class="badge">${esc(run.kind)}</span></h2>`,
    summary(r),
    phasesTable(run.phases),
    curves(r.name, run.phases),
    validationSection(run.phases),
    confusion(r),
    misclassified(r),
    '</section>',
  ].join('\n');
}

function summary({ run }: ReportRun): string {
  const items: Array<[string, string]> = [
    ['task', run.task],
    ['classes', `${run.classNames.length}: ${run.classNames.join(', ')}`],
  ];
  if (run.architecture) items.push(['architecture', run.architecture]);
  if (run.source) items.push(['source model', `${run.source.path}${run.source.task ? ` (task ${run.source.task})` : ''}`]);
  if (run.transfer) items.push(['transfer', `cut at ${run.transfer.cut}; ${run.transfer.reused.length} reused layers (${run.transfer.frozen.length} frozen at first), new head: ${run.transfer.head.join(', ') || '—'}`]);
  items.push(['input', `[${run.sampleShape.join(', ')}], pixels ${scaleText(run.preprocessing.pixelScale)}`]);
  items.push(['seed / backend', `${run.seed} / ${run.backend}`]);
  const test = run.metrics?.test;
  if (test) items.push(['test', `${pct(test.accuracy)} accuracy, loss ${num(test.loss)}, ${test.count} images`]);
  const frozen = run.metrics?.frozenTest;
  if (frozen) items.push(['test after frozen phase', `${pct(frozen.accuracy)} accuracy, loss ${num(frozen.loss)}`]);
  items.push(['created', `${run.createdAt} with graft ${run.graftVersion}, TF.js ${run.tfjsVersion}`]);
  return `<dl class="summary">${items.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`;
}

/** "÷ 255" reads better than "× 0.003922". */
function scaleText(scale: number): string {
  const inv = 1 / scale;
  return scale > 0 && scale < 1 && Math.abs(inv - Math.round(inv)) < 1e-6 ? `÷ ${Math.round(inv)}` : `× ${num(scale, 6)}`;
}

function phasesTable(phases: readonly PhaseRecord[]): string {
  if (phases.length === 0) return '<p class="note">No training phases recorded.</p>';
  const rows = phases.map((p) => [
    p.name,
    `${p.history.length} of ${p.epochs}`,
    p.optimizer.name + (p.optimizer.momentum > 0 ? ` (momentum ${p.optimizer.momentum})` : ''),
    String(p.optimizer.learningRate),
    p.trainableLayers.length,
    p.stopReason + (p.message ? `: ${p.message}` : ''),
    seconds(p.seconds),
  ]);
  return htmlTable('Training phases', ['phase', 'epochs run', 'optimizer', 'learning rate', 'trainable layers', 'stopped', 'time'], rows);
}

/** Loss and accuracy per epoch across all phases, with the phase boundaries marked. */
function curves(name: string, phases: readonly PhaseRecord[]): string {
  const records = phases.flatMap((p) => p.history);
  if (records.length === 0) return '<p class="note">No epoch history recorded, so no learning curves.</p>';
  const markers: XMarker[] = [];
  let offset = 0;
  phases.forEach((p, i) => {
    if (i > 0 && offset > 0) markers.push({ x: offset + 0.5, label: p.name });
    offset += p.history.length;
  });
  const xy = (pick: (h: (typeof records)[number]) => number | undefined): Array<{ x: number; y: number }> => records.map((h, i) => ({ x: i + 1, y: pick(h) ?? NaN }));
  const hasVal = records.some((h) => h.valLoss !== undefined);
  const series = (metric: 'loss' | 'accuracy', scale: number): LineSeries[] => {
    const s: LineSeries[] = [{ name: `training ${metric}`, color: TRAIN, points: xy((h) => h[metric] * scale) }];
    const key = metric === 'loss' ? 'valLoss' : 'valAccuracy';
    if (hasVal) s.push({ name: `validation ${metric}`, color: VALIDATION, dashed: true, points: xy((h) => (h[key] === undefined ? undefined : h[key]! * scale)) });
    return s;
  };
  const loss = lineChart({ title: `Loss per epoch — ${name}`, xLabel: 'epoch (all phases)', yLabel: 'loss', series: series('loss', 1), markers, yInclude: [0] });
  const acc = lineChart({ title: `Accuracy per epoch — ${name}`, xLabel: 'epoch (all phases)', yLabel: 'accuracy (%)', series: series('accuracy', 100), markers, yMax: 100 });
  const note = hasVal
    ? 'Solid: training; dashed: validation. Validation loss rising while training loss falls is overfitting.'
    : 'Training curves only: this run had no validation split (--val-split).';
  const boundary = markers.length > 0 ? ` The dashed vertical line marks where the phase "${markers.map((m) => m.label).join('", "')}" began.` : '';
  return `<h3>Learning curves</h3><div class="charts"><figure>${loss}</figure><figure>${acc}</figure></div><p class="note">${esc(note + boundary)}</p>`;
}

function confusion({ run }: ReportRun): string {
  const test = run.metrics?.test;
  if (!test) return '<p class="note">No test metrics in run.json, so no confusion matrix.</p>';
  const matrix = confusionTable(test.confusion, run.classNames, `Test set, ${test.count} images: rows are the true class, columns the prediction`);
  const perClass = htmlTable(
    'Per class (test set)',
    ['class', 'precision', 'recall', 'F1', 'support'],
    test.perClass.map((c) => [c.name, pct(c.precision), pct(c.recall), pct(c.f1), c.support]),
  );
  return `<h3>Confusion matrix</h3><div class="pair"><div>${matrix}</div><div>${perClass}</div></div>`;
}

function misclassified({ examples }: ReportRun): string {
  const shown = (examples ?? []).filter((e) => DATA_URI.test(e.dataUri));
  if (shown.length === 0) return '';
  const cards = shown.map((e) => {
    const alt = `true ${e.label}, predicted ${e.predicted} with ${pct(e.confidence, 0)} confidence`;
    return `<figure><img src="${esc(e.dataUri)}" alt="${esc(alt)}" width="96" height="96"><figcaption>true: ${esc(e.label)}<br><span class="wrong">predicted: ${esc(e.predicted)}</span><br>${esc(pct(e.confidence, 0))} sure</figcaption></figure>`;
  });
  return `<h3>Misclassified test images</h3><p class="note">The ${shown.length} most confidently wrong predictions, most confident first.</p><div class="grid">${cards.join('')}</div>`;
}
