import { GRAFT_VERSION } from '../version.js';
import { compareSection, VERDICT_CLASS } from './compare-section.js';
import { pct, seconds } from './format.js';
import { htmlTable } from './html-table.js';
import type { ReportInput } from './input.js';
import { runSection } from './run-section.js';
import { layersSection } from './layers-section.js';
import { sweepSection } from './sweep-section.js';
import { lrFindSection, lrFindVerdict } from './lr-find-section.js';
import { esc } from './svg/escape.js';
import { REPORT_CSS } from './style.js';
import { compareVerdict, runsVerdict, studyVerdict, type VerdictText } from './verdict-text.js';

export type { ReportInput, ReportRun, SeedTableRow } from './input.js';

/**
 * One self-contained HTML document: inline CSS and SVG, no scripts, no URLs, so it opens offline
 * and can be mailed or archived as one file. Order: the answer first (verdict), then the
 * comparison that backs it, then each run in detail.
 */
export function renderReport(input: ReportInput): string {
  const sections: Array<{ id: string; label: string; html: string }> = [];
  if (input.seed && input.seed.rows.length > 0) sections.push({ id: 'seed', label: 'Summary table', html: seedTable(input.seed.rows) });
  if (input.compare) sections.push({ id: 'compare', label: 'Transfer vs scratch', html: compareSection(input.compare, 'compare') });
  if (input.layers) sections.push({ id: 'layers', label: 'Layer transferability', html: layersSection(input.layers, 'layers') });
  if (input.sweep) sections.push({ id: 'sweep', label: 'Sweep', html: sweepSection(input.sweep, 'sweep') });
  if (input.lrFind) sections.push({ id: 'lr-find', label: 'Range test', html: lrFindSection(input.lrFind, 'lr-find') });
  input.runs.forEach((r, i) => sections.push({ id: `run-${i + 1}`, label: r.name, html: runSection(r, `run-${i + 1}`) }));
  const nav = sections.length > 1 ? `<nav aria-label="Sections">${sections.map((s) => `<a href="#${s.id}">${esc(s.label)}</a>`).join('')}</nav>` : '';
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // Marks the file as graft's: graft regenerates its own reports but never overwrites other files.
    `<meta name="generator" content="graft ${GRAFT_VERSION}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // Blocks any fetch the page might try (nothing should), so "opens with no network" holds.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>${esc(input.title)}</title>`,
    `<style>${REPORT_CSS}</style>`,
    '</head>',
    '<body><main>',
    `<header><h1>${esc(input.title)}</h1><p class="meta">${esc(subtitle(input))}</p>${nav}</header>`,
    verdictBox(input.compare ? compareVerdict(input.compare) : input.lrFind ? lrFindVerdict(input.lrFind) : input.layers || input.sweep ? studyVerdict(input) : runsVerdict(input.runs), input),
    ...sections.map((s) => s.html),
    `<footer>Written by graft ${esc(GRAFT_VERSION)}. Self-contained: inline styles and charts, no scripts, no network.</footer>`,
    '</main></body>',
    '</html>',
    '',
  ].join('\n');
}

function subtitle(input: ReportInput): string {
  const c = input.compare;
  if (c) return `Task ${c.task}, source ${c.source}; compared ${c.createdAt}.`;
  const study = input.layers ?? input.sweep ?? input.lrFind;
  if (study) return `Task ${study.task}, source ${study.source}; measured ${study.createdAt}.`;
  const tasks = [...new Set(input.runs.map((r) => r.run.task))];
  return `${input.runs.length} run${input.runs.length === 1 ? '' : 's'}${tasks.length ? `; task${tasks.length > 1 ? 's' : ''} ${tasks.join(', ')}` : ''}.`;
}

function verdictBox(v: VerdictText, input: ReportInput): string {
  const lines = v.lines.length > 0 ? v.lines : [{ text: input.compare ? 'compare.json has no rows: nothing was compared.' : 'No runs to report.' }];
  const items = lines.map((l) => {
    const text = esc(l.text);
    // Colour the closing verdict word of a compare sentence ("…: helps.").
    if (!l.verdict) return `<li>${text}</li>`;
    const word = esc(l.verdict);
    const at = text.lastIndexOf(`: ${word}.`);
    return at < 0 ? `<li>${text}</li>` : `<li>${text.slice(0, at)}: <span class="${VERDICT_CLASS[l.verdict]}">${word}</span>.</li>`;
  });
  const caveats = v.caveats.map((c) => `<p class="caveat">${esc(c)}</p>`).join('');
  return `<section class="verdict" id="verdict" aria-label="Verdict"><h2>${input.compare ? 'Did transfer help?' : 'Results'}</h2><ul>${items.join('')}</ul>${caveats}</section>`;
}

function seedTable(rows: NonNullable<ReportInput['seed']>['rows']): string {
  return `<section id="seed"><h2>Summary</h2>${htmlTable('Each model and phase, as graft seed printed it', ['model', 'phase', 'epochs', 'time', 'test accuracy'], rows.map((r) => [r.model, r.phase, r.epochs, seconds(r.seconds), pct(r.testAccuracy)]))}</section>`;
}
