import type { CompareResult, CompareRow } from '../evaluate/compare-result.js';
import type { Verdict } from '../evaluate/stats.js';
import { differencePoints, pct, points, sizeLabel, sizePhrase } from './format.js';
import type { ReportInput, ReportRun } from './input.js';
import { decimalsKeepingSign } from './sign-digits.js';

/**
 * The answer to "did transfer help?" in words, from numbers evaluate/ already computed. Caveats
 * are part of the answer: the write-up's warning is that small, lucky results mislead.
 */
export interface VerdictText {
  /** Plain-text sentences; `verdict` lets the page colour the conclusion. */
  lines: Array<{ text: string; verdict?: Verdict }>;
  caveats: string[];
}

/** Fewer seeds than this and a 95% interval is too wide (or undefined) to lean on. */
export const MIN_SEEDS = 3;

export function compareVerdict(c: CompareResult): VerdictText {
  const lines = c.rows.map((row) => ({ text: rowSentence(row), verdict: row.verdict }));
  const caveats: string[] = [];
  const seeds = Math.min(...c.rows.map((r) => r.difference.n), c.seeds.length);
  if (seeds < MIN_SEEDS) {
    caveats.push(
      `Only ${seeds} seed${seeds === 1 ? '' : 's'} per train size: ${seeds < 2 ? 'one run cannot separate a difference from luck, so there is no interval' : 'an interval from so few runs is very wide'}. Run graft compare with --seeds 5 or more before trusting the verdict.`,
    );
  }
  const straddling = c.rows.filter((r) => Number.isFinite(r.difference.halfWidth) && r.difference.low <= 0 && r.difference.high >= 0);
  if (straddling.length > 0) {
    caveats.push(
      `For train size${straddling.length > 1 ? 's' : ''} ${straddling.map((r) => sizeLabel(r.trainSize)).join(', ')}, the 95% interval of the difference includes 0: the gap there is within seed-to-seed variation, so it is not evidence either way.`,
    );
  }
  return { lines, caveats };
}

function rowSentence(r: CompareRow): string {
  const d = r.difference;
  const shown = differencePoints(d);
  const ci = Number.isFinite(d.halfWidth) ? `95% CI ${shown.low} to ${shown.high}` : 'no interval from one seed';
  const scratch = withCi(r.scratch.mean, r.scratch.halfWidth);
  const transfer = withCi(r.transfer.mean, r.transfer.halfWidth);
  // The verb is the claim, so it follows the verdict (the unrounded interval), never the sign of the mean.
  const result =
    r.verdict === 'helps' ? `transfer lowered the test error from ${scratch} to ${transfer}`
    : r.verdict === 'hurts' ? `transfer raised the test error from ${scratch} to ${transfer}`
    : `transfer reached a test error of ${transfer}, against ${scratch} from scratch`;
  return `${sizePhrase(r.trainSize)}, ${result} (paired difference ${shown.mean} points, ${ci}): ${r.verdict}.`;
}

/** A gap in points that never reads "ahead by 0.0". */
function gapPoints(gap: number): string {
  return points(gap, decimalsKeepingSign([100 * gap], 1));
}

function withCi(mean: number, half: number): string {
  return Number.isFinite(half) ? `${pct(mean)} ± ${points(half)}` : pct(mean);
}

/** Without a compare: transfer vs scratch runs of the same task (graft seed), one seed each. */
export function runsVerdict(runs: readonly ReportRun[]): VerdictText {
  const lines: VerdictText['lines'] = [];
  const caveats: string[] = [];
  const paired = new Set<ReportRun>();
  for (const t of runs.filter((r) => r.run.kind === 'transfer')) {
    // A baseline that names its transfer run pairs only with it; an older one, with any transfer on its task.
    const s = runs.find((r) => r.run.kind === 'scratch' && r.run.task === t.run.task && !paired.has(r) && (r.run.baselineFor === undefined || r.run.baselineFor === t.name));
    const ta = t.run.metrics?.test?.accuracy;
    const sa = s?.run.metrics?.test?.accuracy;
    if (!s || ta === undefined || sa === undefined) continue;
    paired.add(t).add(s);
    const gap = ta - sa;
    const frozen = t.run.metrics?.frozenTest?.accuracy;
    lines.push({
      text:
        `On ${t.run.task}, transfer (${t.name}) reached ${pct(ta)} test accuracy and the same architecture from scratch (${s.name}) ${pct(sa)}: ` +
        `${gap > 0 ? `transfer ahead by ${gapPoints(gap)} points` : gap < 0 ? `scratch ahead by ${gapPoints(-gap)} points` : 'a tie'}` +
        `${frozen !== undefined ? ` (after the frozen phase alone, transfer had ${pct(frozen)})` : ''}.`,
    });
    const from = t.run.source?.path;
    caveats.push(
      `One seed is not evidence: each number comes from a single training run, and another seed can move test accuracy by more than this gap. ` +
        `Run graft compare${from ? ` --from ${from}` : ''} --task ${t.run.task} --seeds 5 for 95% intervals and a verdict.`,
    );
  }
  for (const r of runs.filter((x) => !paired.has(x))) {
    const e = r.run.metrics?.test;
    lines.push({ text: e ? `${r.name}: ${pct(e.accuracy)} test accuracy on ${r.run.task} (${r.run.classNames.length} classes, ${e.count} test images).` : `${r.name}: no test metrics in run.json.` });
    if (r.run.kind === 'transfer') {
      caveats.push(`${r.name} has no from-scratch baseline here, so this report cannot say whether transfer helped; graft compare measures that.`);
    }
  }
  return { lines, caveats };
}

/** The headline of a layers study or a sweep. */
export function studyVerdict(input: ReportInput): VerdictText {
  const lines: VerdictText['lines'] = [];
  const caveats: string[] = [];
  if (input.layers) {
    for (const p of input.layers.points) {
      const f = p.arms.frozen;
      const s = p.arms.scratch;
      const clear = Number.isFinite(f.halfWidth) && Number.isFinite(s.halfWidth);
      lines.push({
        text: `With ${p.n} layer${p.n === 1 ? '' : 's'} copied (up to ${p.layer}) and frozen: ${pct(f.mean, 2)} test accuracy; fine-tuned: ${pct(p.arms['fine-tuned'].mean, 2)}; from scratch: ${pct(s.mean, 2)}${clear ? '' : ' (one seed: no intervals)'}.`,
      });
    }
    if (input.layers.seeds.length < 3) caveats.push('Fewer than 3 seeds: the intervals are wide or missing; rerun with --seeds 5 before drawing conclusions.');
  }
  if (input.sweep) {
    lines.push({ text: `Sweep: ${input.sweep.tried} configurations tried; the chosen one scored ${pct(input.sweep.best.testAccuracy, 2)} on the test set, measured once.` });
    caveats.push(input.sweep.caveat);
  }
  return { lines, caveats };
}
