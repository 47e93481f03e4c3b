import { describe, expect, it } from 'vitest';
import { renderReport } from '../../src/report/render.js';
import { validationSection } from '../../src/report/validation-section.js';
import { perClassMetrics } from '../../src/evaluate/metrics.js';
import type { PhaseRecord } from '../../src/io/run-dir.js';
import { runInfo } from './fixtures.js';

/** A binary phase whose epochs carry the validation metrics fit records, keeping epoch 2. */
function binaryPhase(): PhaseRecord {
  const p = runInfo({ phases: [['train', 3, 0.01]], classNames: ['cat', 'dog'] }).phases[0]!;
  p.history.forEach((h, i) => {
    h.valAuc = [0.81, 0.9375, 0.88][i]!;
    h.valMacroF1 = 0.7 + i / 100;
    h.valPerClass = perClassMetrics([[8 + i, 2 - i], [1, 9]], ['cat', 'dog']);
  });
  p.keptBest = { epoch: 2, monitor: 'val_auc', value: 0.9375 };
  p.controls = { labelSmoothing: 0.1, keepBest: { monitor: 'val_auc' } };
  return p;
}

describe('validation metrics in the report', () => {
  it('tabulates AUC and macro F1 per epoch and the kept epoch\'s per-class scores', () => {
    const html = validationSection([binaryPhase()]);
    expect(html).toContain('Validation metrics per epoch');
    expect(html).toContain('<th scope="col">val AUC</th>');
    expect(html).not.toContain('top-');
    for (const auc of ['0.8100', '0.9375', '0.8800']) expect(html).toContain(auc);
    expect(html).toContain('kept the weights of epoch 2, best by val_auc (0.9375)');
    expect(html).toContain('label smoothing 0.1');
    // Epoch 2's confusion [[9, 1], [1, 9]]: cat precision 90.0%, not epoch 3's 10/11.
    expect(html).toContain('Per class (validation, train epoch 2)');
    expect(html).toContain('<td class="num">90.0%</td>');
  });

  it('shows top-k for many classes and nothing without validation metrics', () => {
    const run = runInfo({ phases: [['train', 2, 0.01]] });
    expect(validationSection(run.phases)).toBe('');
    run.phases[0]!.history.forEach((h) => Object.assign(h, { valTopK: 0.99, topK: 5, valMacroF1: 0.9 }));
    const html = renderReport({ title: 't', runs: [{ name: 'r', run }] });
    expect(html).toContain('<th scope="col">val top-5</th>');
    expect(html).toContain('99.0%');
  });
});
