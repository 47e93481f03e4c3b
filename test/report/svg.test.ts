import { describe, expect, it } from 'vitest';
import { confusionTable } from '../../src/report/svg/confusion.js';
import { esc } from '../../src/report/svg/escape.js';
import { intervalChart } from '../../src/report/svg/interval-chart.js';
import { lineChart } from '../../src/report/svg/line-chart.js';
import { niceDomain, tickFormat } from '../../src/report/svg/scale.js';

const EVIL = '<script>alert(1)</script>';

describe('esc', () => {
  it('escapes markup and quotes', () => {
    expect(esc(`${EVIL}"'&`)).toBe('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;');
  });
});

describe('scale', () => {
  it('extends a domain to round ticks', () => {
    expect(niceDomain(0.13, 0.87, 5)).toMatchObject({ domain: [0, 1], ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] });
    expect(niceDomain(1, 20, 8, 1).ticks).toEqual([0, 5, 10, 15, 20]);
  });
  it('survives an empty or flat range', () => {
    expect(niceDomain(3, 3).ticks.length).toBeGreaterThan(1);
    expect(niceDomain(NaN, NaN).domain).toEqual([0, 1]);
  });
  it('formats ticks with just enough decimals and a real minus', () => {
    expect(tickFormat(0.2)(0.4)).toBe('0.4');
    expect(tickFormat(5)(-10)).toBe('−10');
    expect(tickFormat(0.5)(-0.0001)).toBe('0.0');
  });
});

describe('lineChart', () => {
  const svg = lineChart({
    title: `Loss ${EVIL}`,
    xLabel: 'epoch',
    yLabel: 'loss',
    series: [
      { name: 'training loss', color: '#00f', points: [1, 2, 3, 4].map((x) => ({ x, y: 1 / x })) },
      { name: `validation ${EVIL}`, color: '#f00', dashed: true, points: [{ x: 1, y: 1.1 }, { x: 2, y: NaN }, { x: 3, y: 0.5 }, { x: 4, y: 0.6 }] },
    ],
    markers: [{ x: 2.5, label: 'unfrozen' }],
  });

  it('is accessible and escapes every text', () => {
    expect(svg).toMatch(/^<svg [^>]*role="img" aria-label="Loss &lt;script&gt;/);
    expect(svg).toContain('<title>Loss &lt;script&gt;alert(1)&lt;/script&gt;</title>');
    expect(svg).not.toContain('<script>');
    expect(svg).not.toMatch(/https?:/);
  });
  it('draws solid training and dashed validation lines, a gap for NaN, and the marker', () => {
    const paths = [...svg.matchAll(/<path d="([^"]+)"[^>]*>/g)];
    expect(paths).toHaveLength(2);
    expect(paths[0]![0]).not.toContain('stroke-dasharray');
    expect(paths[1]![0]).toContain('stroke-dasharray');
    // Validation restarts after its NaN: two "M" segments.
    expect(paths[1]![1]!.match(/M/g)).toHaveLength(2);
    expect(svg).toMatch(/<g class="marker"><line[^>]*stroke-dasharray[^>]*\/><text[^>]*>unfrozen<\/text>/);
    expect((svg.match(/<circle/g) ?? []).length).toBe(7);
  });
  it('has a legend naming each series', () => {
    expect(svg).toMatch(/<g class="legend">.*training loss.*validation &lt;script&gt;/s);
  });
});

describe('intervalChart', () => {
  const svg = intervalChart({
    title: 'Test error',
    xLabel: 'train size',
    yLabel: 'error (%)',
    categories: ['10/class', EVIL],
    arms: [
      { name: 'transfer', color: '#00f', values: [{ mean: 4, low: 3, high: 5 }, { mean: 2, low: NaN, high: NaN }] },
      { name: 'scratch', color: '#f80', values: [{ mean: 12, low: 10, high: 14 }, undefined] },
    ],
    zeroLine: 'no difference',
  });
  it('draws a dot per value and whiskers only where there is an interval', () => {
    expect((svg.match(/<circle/g) ?? []).length).toBe(3 + 2); // 3 values + 2 legend dots
    expect((svg.match(/<path d="M/g) ?? []).length).toBe(2);
    expect(svg).toContain('no interval: one seed');
  });
  it('draws the zero line and escapes category names', () => {
    expect(svg).toMatch(/<g class="zero"><line[^>]*\/><\/g>/);
    expect(svg).toMatch(/<g class="legend">.*no difference/);
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(svg).not.toContain('<script>');
  });
});

describe('confusionTable', () => {
  const html = confusionTable([[8, 2], [0, 10]], ['cat', EVIL], 'Test set');
  it('lays out true rows × predicted columns with escaped names', () => {
    expect(html).toContain('<th scope="row">cat</th>');
    // The heading breaks after "/" like a path, never inside a word.
    expect(html).toContain('<th scope="col">&lt;script&gt;alert(1)&lt;/<br>script&gt;</th>');
    expect(html).not.toContain('<script>');
    expect(html).toMatch(/<td style="[^"]*" title="true cat, predicted &lt;script&gt;alert\(1\)&lt;\/script&gt;: 2 \(20\.0% of cat\)">2<\/td>/);
  });
  it('shades right answers blue, wrong ones orange, zeros not at all', () => {
    expect(html).toMatch(/rgba\(0, 114, 178, [\d.]+\)[^>]*>8</);
    expect(html).toMatch(/rgba\(213, 94, 0, [\d.]+\)[^>]*>2</);
    expect(html).toMatch(/rgba\(213, 94, 0, 0\.000\)[^>]*>0</);
  });
});
