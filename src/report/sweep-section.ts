import type { SweepResult } from '../evaluate/sweep-result.js';
import { pct, seconds } from './format.js';
import { htmlTable } from './html-table.js';
import { esc } from './svg/escape.js';

/** A sweep: every configuration with its validation score, the chosen one, and why its score is optimistic. */
export function sweepSection(s: SweepResult, id: string): string {
  const describe = (c: SweepResult['best']['config']): string =>
    `cut ${c.cut ?? 'default'}, freeze ${c.freeze}, ${c.frozenEpochs}+${c.unfrozenEpochs} epochs, lr ${c.frozenLr} → ${c.unfrozenLr}`;
  const rows = [...s.trials]
    .sort((a, b) => b.valAccuracy - a.valAccuracy || a.valLoss - b.valLoss)
    .map((t) => [describe(t.config), pct(t.valAccuracy, 2), t.valLoss.toFixed(4), seconds(t.seconds), t === s.trials.find((x) => x.config === s.best.config) ? 'chosen' : '']);
  return [
    `<section id="${esc(id)}">`,
    '<h2>Sweep</h2>',
    `<p>${esc(`${s.task}, from ${s.source}: ${s.tried} configurations (${s.mode}), chosen on the validation split. Chosen: ${describe(s.best.config)}; test accuracy ${pct(s.best.testAccuracy, 2)} (measured once).`)}</p>`,
    `<p class="note">${esc(s.caveat)}</p>`,
    htmlTable('Every configuration tried, best validation accuracy first', ['configuration', 'validation accuracy', 'validation loss', 'time', ''], rows),
    '</section>',
  ].join('\n');
}
