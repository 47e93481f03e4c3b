import { describe, expect, it } from 'vitest';
import { confidenceInterval, pairedDifference, tCdf, tQuantile, verdict } from '../../src/evaluate/stats.js';

describe('statistics', () => {
  it('matches published t quantiles (two-sided 95%)', () => {
    // Standard t-table values.
    const table: Array<[number, number]> = [[1, 12.706], [2, 4.303], [4, 2.776], [9, 2.262], [29, 2.045], [1000, 1.962]];
    for (const [df, q] of table) expect(tQuantile(0.975, df), `df=${df}`).toBeCloseTo(q, 2);
    expect(tCdf(0, 5)).toBeCloseTo(0.5, 10);
  });

  it('computes mean ± t·sd/√n', () => {
    const ci = confidenceInterval([0.1, 0.2, 0.3, 0.4, 0.5]);
    expect(ci.mean).toBeCloseTo(0.3, 12);
    expect(ci.sd).toBeCloseTo(Math.sqrt(0.025), 12);
    expect(ci.halfWidth).toBeCloseTo(2.776 * Math.sqrt(0.025) / Math.sqrt(5), 3);
    expect(Number.isNaN(confidenceInterval([0.2]).halfWidth)).toBe(true);
  });

  it('judges paired differences of error: below zero helps, above hurts, straddling is unclear', () => {
    const scratch = [0.1, 0.12, 0.11, 0.13, 0.1];
    expect(verdict(pairedDifference([0.05, 0.06, 0.05, 0.07, 0.05], scratch))).toBe('helps');
    expect(verdict(pairedDifference([0.2, 0.21, 0.2, 0.22, 0.19], scratch))).toBe('hurts');
    expect(verdict(pairedDifference([0.09, 0.14, 0.1, 0.12, 0.11], scratch))).toBe('no clear difference');
    expect(verdict(pairedDifference([0.01], [0.5]))).toBe('no clear difference');
  });
});
