import { describe, expect, it } from 'vitest';
import { renderReport } from '../../src/report/render.js';
import { confidenceInterval } from '../../src/evaluate/stats.js';
import type { LayersResult } from '../../src/evaluate/layers-result.js';
import type { SweepResult } from '../../src/evaluate/sweep-result.js';

const arm = (xs: number[]) => ({ ...confidenceInterval(xs), values: xs });
const layers: LayersResult = {
  kind: 'layers', createdAt: '2026-01-01', graftVersion: 't', backend: 'wasm', source: 'runs/a', task: 'fashion-mnist:binary=shirt,sandal', epochs: 5, seeds: [0, 1, 2],
  points: [
    { n: 1, layer: 'conv1', arms: { frozen: arm([0.9, 0.92, 0.91]), 'fine-tuned': arm([0.95, 0.96, 0.94]), scratch: arm([0.93, 0.9, 0.92]) } },
    { n: 2, layer: 'conv2', arms: { frozen: arm([0.88, 0.9, 0.89]), 'fine-tuned': arm([0.96, 0.96, 0.95]), scratch: arm([0.93, 0.9, 0.92]) } },
  ],
};
const config = { cut: null, freeze: 'all', frozenEpochs: 4, unfrozenEpochs: 8, frozenLr: 0.001, unfrozenLr: 0.0001 };
const sweep: SweepResult = {
  kind: 'sweep', createdAt: '2026-01-01', graftVersion: 't', backend: 'wasm', source: 'runs/a', task: 't', mode: 'grid', tried: 2,
  trials: [{ config, valAccuracy: 0.97, valLoss: 0.1, seconds: 2 }, { config: { ...config, frozenLr: 0.01 }, valAccuracy: 0.95, valLoss: 0.2, seconds: 2 }],
  best: { config, valAccuracy: 0.97, valLoss: 0.1, seconds: 2, testAccuracy: 0.955, testLoss: 0.12 },
  caveat: '2 configurations were tried; the validation score is optimistic.',
};

describe('report sections for layers and sweeps', () => {
  it('renders the layer-transferability table and chart with every n', () => {
    const html = renderReport({ title: 'layers', runs: [], layers });
    expect(html).toContain('Layer transferability');
    expect(html).toContain('2: conv2');
    expect(html).toMatch(/<svg[^>]*>[\s\S]*<circle/);
    expect(html).toContain('With 2 layers copied (up to conv2) and frozen: 89.00%');
  });

  it('renders the sweep table, the chosen configuration and the optimism caveat', () => {
    const html = renderReport({ title: 'sweep', runs: [], sweep });
    expect(html).toContain('2 configurations (grid)');
    expect(html).toContain('test accuracy 95.50% (measured once)');
    expect(html).toContain('the validation score is optimistic');
    expect(html.match(/chosen/g)?.length).toBeGreaterThanOrEqual(1);
  });
});
