import { describe, expect, it } from 'vitest';
import type { CompareRow } from '../../src/evaluate/compare-result.js';
import { confidenceInterval, verdict, type Interval } from '../../src/evaluate/stats.js';
import { compareSection } from '../../src/report/compare-section.js';
import { differencePoints } from '../../src/report/format.js';
import { decimalsKeepingSign, signedFixed } from '../../src/report/sign-digits.js';
import { compareVerdict, runsVerdict } from '../../src/report/verdict-text.js';
import { compareResult, runInfo } from './fixtures.js';

/** A compare whose one row has this paired difference of test error (fractions, transfer − scratch). */
function withDifference(low: number, high: number, mean = (low + high) / 2): ReturnType<typeof compareResult> {
  const c = compareResult([50], 5);
  const difference: Interval = { mean, low, high, halfWidth: (high - low) / 2, n: 5, sd: 0.001 };
  const row: CompareRow = { ...c.rows[0]!, transfer: confidenceInterval([0.05, 0.051, 0.049, 0.05, 0.05]), difference, verdict: verdict(difference) };
  return { ...c, rows: [row] };
}

/** A printed number's value: "−0.04" → −0.04. */
const value = (s: string): number => Number(s.replace('−', '-'));

describe('a CI that crosses zero is never rounded into a claim', () => {
  it('[−0.0004, 0.0301] (−0.04 to +3.01 points) is "no clear difference", without "lowered"', () => {
    const sentence = compareVerdict(withDifference(-0.0004, 0.0301, -0.0001)).lines[0]!.text;
    expect(sentence).not.toMatch(/lowered|raised/);
    expect(sentence).toMatch(/: no clear difference\.$/);
    // The printed bounds still straddle zero: −0.04 to +3.01, not "0.0 to +3.0".
    const [, low, high] = /95% CI (\S+) to (\S+)\)/.exec(sentence)!;
    expect(value(low!)).toBeLessThan(0);
    expect(value(high!)).toBeGreaterThan(0);
    expect(sentence).toContain('95% CI −0.04 to +3.01');
  });

  it('the issue\'s case: a mean of −0.04 points in [−0.1, +0.02] is not "lowered … 0.0 points, CI −0.1 to 0.0"', () => {
    const sentence = compareVerdict(withDifference(-0.001, 0.0002, -0.0004)).lines[0]!.text;
    expect(sentence).not.toContain('lowered');
    expect(sentence).toContain('paired difference −0.04 points, 95% CI −0.10 to +0.02');
  });

  it('an interval just below zero says "lowered" and its upper bound does not print as 0', () => {
    const sentence = compareVerdict(withDifference(-0.02, -0.00003)).lines[0]!.text;
    expect(sentence).toMatch(/transfer lowered the test error .*: helps\.$/);
    const [, , high] = /95% CI (\S+) to (\S+)\)/.exec(sentence)!;
    expect(value(high!)).toBeLessThan(0);
  });

  it('an interval just above zero says "raised" with a lower bound above 0', () => {
    const sentence = compareVerdict(withDifference(0.00004, 0.01)).lines[0]!.text;
    expect(sentence).toMatch(/transfer raised the test error .*: hurts\.$/);
    expect(sentence).toContain('95% CI +0.004 to +1.000');
  });

  it('the compare table shows the same unambiguous bounds', () => {
    const html = compareSection(withDifference(-0.0004, 0.0301, -0.0001), 'compare');
    expect(html).toContain('>−0.01 (−0.04 to +3.01)</td>');
    expect(html).not.toMatch(/\(0\.0 to|−0\.0 to|to 0\.0\)|to −0\.0\)/);
  });

  it('one seed: no interval and no claim', () => {
    const c = withDifference(NaN, NaN, -0.02);
    c.rows[0]!.difference.halfWidth = NaN;
    c.rows[0]!.difference.n = 1;
    c.rows[0]!.verdict = verdict(c.rows[0]!.difference);
    const sentence = compareVerdict(c).lines[0]!.text;
    expect(sentence).not.toContain('lowered');
    expect(sentence).toContain('no interval from one seed');
  });
});

describe('decimals that keep a sign', () => {
  it('adds decimals until no non-zero value rounds to zero', () => {
    expect(decimalsKeepingSign([-13.5, -11.5], 1)).toBe(1);
    expect(decimalsKeepingSign([-0.04, 3.01], 1)).toBe(2);
    expect(decimalsKeepingSign([0, 0.0004], 1)).toBe(4);
    expect(decimalsKeepingSign([0, NaN], 2)).toBe(2);
  });
  it('prints a sign for every non-zero value, even one too small for the decimals', () => {
    expect(signedFixed(-0.04, 1)).toBe('−0.040');
    expect(signedFixed(2, 1)).toBe('+2.0');
    expect(signedFixed(0, 2)).toBe('0.00');
    expect(signedFixed(-1e-9, 2)).toBe('−1.0e-9');
  });
  it('gives a difference one number of decimals', () => {
    expect(differencePoints({ mean: -0.135, low: -0.154, high: -0.115 })).toEqual({ mean: '−13.5', low: '−15.4', high: '−11.5' });
  });
});

describe('one transfer run against its scratch baseline', () => {
  it('a gap of 0.04 points is not "ahead by 0.0 points"', () => {
    const transfer = { name: 't', run: runInfo({ kind: 'transfer', accuracy: 0.9404 }) };
    const scratch = { name: 's', run: runInfo({ kind: 'scratch', accuracy: 0.94 }) };
    const text = runsVerdict([transfer, scratch]).lines[0]!.text;
    expect(text).toContain('transfer ahead by 0.04 points');
  });
});
