import type { PhaseRecord } from '../io/run-dir.js';
import type { EpochRecord } from '../train/types.js';
import { num, pct } from './format.js';
import { htmlTable, type Cell } from './html-table.js';
import { esc } from './svg/escape.js';

/**
 * Validation metrics beyond loss and accuracy, as training recorded them per epoch (fit.ts with
 * evaluate/metrics.ts scoreMetrics): AUC, top-k, macro F1 and the rate, then the per-class
 * precision/recall/F1 of the epoch whose weights the run ended with, and what the callbacks did.
 */
export function validationSection(phases: readonly PhaseRecord[]): string {
  const rows = phases.flatMap((p) => p.history.map((h) => ({ phase: p.name, h })));
  if (!rows.some((r) => r.h.valMacroF1 !== undefined)) return '';
  const hasAuc = rows.some((r) => r.h.valAuc !== undefined);
  const k = rows.find((r) => r.h.topK !== undefined)?.h.topK;
  const head = ['phase', 'epoch', 'val loss', 'val accuracy', ...(hasAuc ? ['val AUC'] : []), ...(k !== undefined ? [`val top-${k}`] : []), 'val macro F1', 'learning rate'];
  const table = htmlTable(
    'Validation metrics per epoch',
    head,
    rows.map(({ phase, h }): Cell[] => [phase, h.epoch, num(h.valLoss), pct(h.valAccuracy), ...(hasAuc ? [num(h.valAuc, 4)] : []), ...(k !== undefined ? [pct(h.valTopK)] : []), pct(h.valMacroF1), String(h.learningRate)]),
  );
  const notes = phases.flatMap((p) => phaseNotes(p));
  const last = phases[phases.length - 1];
  const final = last && endingEpoch(last);
  const perClass = last && final?.valPerClass
    ? htmlTable(
        `Per class (validation, ${last.name} epoch ${final.epoch})`,
        ['class', 'precision', 'recall', 'F1', 'support'],
        final.valPerClass.map((c) => [c.name, pct(c.precision), pct(c.recall), pct(c.f1), c.support]),
      )
    : '';
  return `<h3>Validation metrics</h3>${notes.length > 0 ? `<ul class="note">${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}<div class="pair"><div>${table}</div><div>${perClass}</div></div>`;
}

/** The epoch whose weights a phase ended with: keep-best's, else early stopping's restored best, else its last. */
function endingEpoch(p: PhaseRecord): EpochRecord | undefined {
  const kept = p.keptBest?.epoch;
  return (kept !== undefined ? p.history.find((h) => h.epoch === kept) : undefined) ?? p.history[p.history.length - 1];
}

function phaseNotes(p: PhaseRecord): string[] {
  const out: string[] = [];
  const c = p.controls;
  if (c?.labelSmoothing !== undefined) out.push(`Phase "${p.name}": label smoothing ${c.labelSmoothing} (losses, validation loss included, are of the smoothed targets).`);
  if (c?.reduceOnPlateau) {
    const r = c.reduceOnPlateau;
    out.push(`Phase "${p.name}": reduce-on-plateau on ${r.monitor}, patience ${r.patience}, factor ${r.factor}.`);
  }
  if (p.keptBest) out.push(`Phase "${p.name}": kept the weights of epoch ${p.keptBest.epoch}, best by ${p.keptBest.monitor} (${num(p.keptBest.value, 4)}).`);
  return out;
}
