import { describe, expect, it } from 'vitest';
import { lrFindSection, lrFindVerdict, type LrFindRecord } from '../../src/report/lr-find-section.js';
import { rangeRate, suggestRates } from '../../src/workflows/lr-find-curve.js';

const steps = 30;
const rates = Array.from({ length: steps }, (_, i) => rangeRate(1e-5, 10, steps, i));
// Falls, then the last step blows up far past 4× the best (the step that stopped the test).
const smoothed = rates.map((_, i) => (i < steps - 1 ? 2 - i / steps : 5e6));
const record: LrFindRecord = {
  task: 't', source: 's', createdAt: '2026-01-01', rates, losses: smoothed, smoothed, steps, stoppedEarly: true,
  min: 1e-5, max: 10, batchSize: 16, optimizer: 'sgd', engine: 'tfjs', suggestion: suggestRates(rates, smoothed),
};

describe('lr-find report section', () => {
  it('plots the curve without the step that stopped the test, so its axis stays on the valley', () => {
    const html = lrFindSection(record, 'lr');
    expect(html).toContain('<svg');
    const ticks = [...html.matchAll(/<text[^>]*text-anchor="end"[^>]*>([^<]+)<\/text>/g)].map((m) => Number(m[1]!.replace('−', '-')));
    expect(ticks.filter(Number.isFinite).length).toBeGreaterThan(1);
    expect(Math.max(...ticks.filter(Number.isFinite))).toBeLessThan(10);
    expect(html).toContain(`steepest: ${record.suggestion.steepest!.toExponential(1)}`.replace('e+', 'e'));
  });

  it('states the suggestion in the answer box', () => {
    const v = lrFindVerdict(record);
    expect(v.lines[0]!.text).toContain(`Suggested learning rate: ${record.suggestion.suggested!.toExponential(1).replace('e+', 'e')}`);
  });
});
