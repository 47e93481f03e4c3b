import { describe, expect, it } from 'vitest';
import { renderReport } from '../../src/report/render.js';
import { compareResult, FASHION8, runInfo } from './fixtures.js';

const EVIL = '<script>alert(1)</script>';
const PIXEL = 'data:image/png;base64,iVBORw0KGgo=';

describe('renderReport', () => {
  it('writes a complete document with no scripts and no URLs, escaping user text', () => {
    const html = renderReport({
      title: `report ${EVIL}`,
      runs: [{ name: 'model-b', run: runInfo({ classNames: [EVIL, ...FASHION8.slice(1)] }), examples: [{ label: EVIL, predicted: 'Bag', confidence: 0.93, dataUri: PIXEL }] }],
      compare: compareResult(),
    });
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('</html>');
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('opens with the compare verdict per train size, in words', () => {
    const html = renderReport({ title: 't', runs: [], compare: compareResult() });
    const verdict = html.slice(html.indexOf('id="verdict"'), html.indexOf('</section>', html.indexOf('id="verdict"')));
    expect(verdict).toMatch(/At 10 images per class, transfer lowered the test error from 2\d\.\d% ± \d\.\d to \d\.\d% ± \d\.\d \(paired difference −1\d\.\d points, 95% CI −\d+\.\d to −\d+\.\d\): <span class="v-helps">helps<\/span>\./);
    expect(verdict).toContain('With the whole training set, transfer');
    expect(verdict).toMatch(/For train size all, the 95% interval of the difference includes 0/);
    expect(html.indexOf('id="verdict"')).toBeLessThan(html.indexOf('id="compare"'));
  });

  it('warns when there are fewer than three seeds', () => {
    expect(renderReport({ title: 't', runs: [], compare: compareResult([10], 2) })).toContain('Only 2 seeds per train size');
    const one = renderReport({ title: 't', runs: [], compare: compareResult([10], 1) });
    expect(one).toContain('Only 1 seed per train size');
    expect(one).toContain('no interval from one seed');
  });

  it('compares seed runs and says one seed is not evidence', () => {
    const html = renderReport({
      title: 'seed',
      runs: [
        { name: 'model-a', run: runInfo({ kind: 'train', phases: [['train', 10, 0.01]] }) },
        { name: 'model-b', run: runInfo({ kind: 'transfer', task: 'fashion-mnist:binary=tshirt-top,sandal', classNames: ['T-shirt/top', 'Sandal'], accuracy: 0.991 }) },
        { name: 'scratch-b', run: runInfo({ kind: 'scratch', task: 'fashion-mnist:binary=tshirt-top,sandal', classNames: ['T-shirt/top', 'Sandal'], phases: [['train', 20, 0.001]], accuracy: 0.985 }) },
      ],
      seed: { rows: [{ model: 'B (transfer)', phase: 'unfrozen', epochs: 16, seconds: 20, testAccuracy: 0.991 }] },
    });
    expect(html).toContain('transfer (model-b) reached 99.1% test accuracy and the same architecture from scratch (scratch-b) 98.5%: transfer ahead by 0.6 points');
    expect(html).toContain('One seed is not evidence');
    expect(html).toContain('--from runs/seed/model-a');
    expect(html).toContain('model-a: 94.0% test accuracy');
    expect(html).toContain('<th>B (transfer)</th>');
  });

  it('shows per run: phases, curves with the unfreeze marker, confusion, per-class table, grid', () => {
    const html = renderReport({ title: 't', runs: [{ name: 'model-b', run: runInfo(), examples: [{ label: 'Coat', predicted: 'Pullover', confidence: 0.9, dataUri: PIXEL }] }] });
    expect(html).toContain('<th>unfrozen</th><td class="num">16 of 16</td><td>sgd</td><td class="num">0.0001</td>');
    expect((html.match(/<svg /g) ?? []).length).toBe(2);
    expect(html).toMatch(/<g class="marker">.*>unfrozen<\/text>/);
    expect(html).toContain('validation loss');
    expect(html).toContain('<table class="confusion">');
    expect(html).toContain('<th scope="col">F1</th>');
    expect(html).toContain(`<img src="${PIXEL}" alt="true Coat, predicted Pullover with 90% confidence"`);
  });

  it('degrades gracefully: no validation, no examples, no metrics, no history', () => {
    const run = runInfo({ withVal: false });
    const html = renderReport({ title: 't', runs: [{ name: 'r', run }] });
    expect(html).not.toContain('validation loss');
    expect(html).toContain('Training curves only');
    expect(html).not.toContain('Misclassified');
    const bare = { ...run, phases: [], metrics: undefined };
    const h2 = renderReport({ title: 't', runs: [{ name: 'r', run: bare }] });
    expect(h2).toContain('No epoch history recorded');
    expect(h2).toContain('no confusion matrix');
    expect(h2).toContain('r: no test metrics in run.json.');
  });

  it('drops example images that are not embedded data', () => {
    const html = renderReport({ title: 't', runs: [{ name: 'r', run: runInfo(), examples: [{ label: 'a', predicted: 'b', confidence: 1, dataUri: 'https://example.com/x.png' }] }] });
    expect(html).not.toContain('example.com');
    expect(html).not.toContain('<img');
  });
});
