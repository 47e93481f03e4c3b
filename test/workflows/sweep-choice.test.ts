import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { betterTrial, type SweepTrial } from '../../src/evaluate/sweep-result.js';
import { buildMlp } from '../../src/models/mlp.js';
import type { PreparedData } from '../../src/workflows/prepare.js';
import { sweep } from '../../src/workflows/sweep.js';
import { useBackend } from '../helpers.js';

/**
 * The sweep's one decision: which configuration is best. It must choose on validation scores only
 * (the test set is scored once, for the chosen one), prefer the lower loss on a tie, and never
 * choose a diverged (NaN) run over one that trained.
 */
const spy = vi.hoisted(() => ({ prepared: [] as unknown[], scored: [] as unknown[] }));
vi.mock('../../src/evaluate/evaluate.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/evaluate/evaluate.js')>();
  return {
    ...real,
    evaluate: (...args: Parameters<typeof real.evaluate>) => (spy.scored.push(args[1]), real.evaluate(...args)),
    evaluateOn: (...args: Parameters<typeof real.evaluateOn>) => (spy.scored.push(args[1]), real.evaluateOn(...args)),
  };
});
vi.mock('../../src/workflows/prepare.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/workflows/prepare.js')>();
  return { ...real, prepareTask: async (...args: Parameters<typeof real.prepareTask>) => { const d = await real.prepareTask(...args); spy.prepared.push(d); return d; } };
});

const dataDir = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte.gz')) || existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte'));
if (!haveData) console.log(`skipping the end-to-end sweep choice test: no Fashion-MNIST in ${dataDir}`);

beforeAll(useBackend);

type Score = Pick<SweepTrial, 'valAccuracy' | 'valLoss' | 'stopped'>;
/** The index the sweep's rule chooses, fed one trial at a time as sweep() does. */
const choose = (trials: Score[]): number => trials.reduce((best, t, i) => (betterTrial(t, trials[best]!) ? i : best), 0);

describe('the sweep chooses its best configuration', () => {
  it('by validation accuracy, then lower validation loss, the earlier one on a full tie', () => {
    expect(choose([{ valAccuracy: 0.7, valLoss: 0.1 }, { valAccuracy: 0.9, valLoss: 0.9 }, { valAccuracy: 0.8, valLoss: 0.2 }])).toBe(1);
    expect(choose([{ valAccuracy: 0.9, valLoss: 0.5 }, { valAccuracy: 0.9, valLoss: 0.3 }, { valAccuracy: 0.9, valLoss: 0.4 }])).toBe(1);
    expect(choose([{ valAccuracy: 0.9, valLoss: 0.3 }, { valAccuracy: 0.9, valLoss: 0.3 }])).toBe(0);
    expect(choose([{ valAccuracy: 0.5, valLoss: 0.7 }])).toBe(0);
  });

  it('never chooses a NaN score over a number, wherever it comes', () => {
    // A diverged run first: it must not stay chosen because nothing compares greater than NaN.
    expect(choose([{ valAccuracy: NaN, valLoss: NaN }, { valAccuracy: 0.6, valLoss: 0.6 }])).toBe(1);
    expect(choose([{ valAccuracy: 0.6, valLoss: 0.6 }, { valAccuracy: NaN, valLoss: 0.1 }])).toBe(0);
    // Same accuracy (a NaN model predicting one class scores chance): the finite loss wins either way round.
    expect(choose([{ valAccuracy: 0.5, valLoss: NaN }, { valAccuracy: 0.5, valLoss: 0.69 }])).toBe(1);
    expect(choose([{ valAccuracy: 0.5, valLoss: 0.69 }, { valAccuracy: 0.5, valLoss: NaN }])).toBe(0);
    expect(choose([{ valAccuracy: 0.5, valLoss: Infinity }, { valAccuracy: 0.5, valLoss: 5 }])).toBe(1);
  });

  it('never chooses a configuration the loss guard stopped over one that trained', () => {
    expect(choose([{ valAccuracy: 0.9, valLoss: 0.2, stopped: 'diverged' }, { valAccuracy: 0.6, valLoss: 0.6 }])).toBe(1);
    expect(choose([{ valAccuracy: 0.6, valLoss: 0.6 }, { valAccuracy: 0.9, valLoss: 0.2, stopped: 'non-finite-loss' }])).toBe(0);
    expect(choose([{ valAccuracy: 0.5, valLoss: 0.7, stopped: 'diverged' }, { valAccuracy: 0.6, valLoss: 0.6, stopped: 'diverged' }])).toBe(1);
  });

  it.skipIf(!haveData)('end to end: the configuration that learns wins, and the test set is scored once, for it alone', async () => {
    const source = buildMlp({ classes: 8, seed: 1 });
    spy.prepared.length = 0;
    spy.scored.length = 0;
    // 1e-7 barely moves the new head from its random start; 1e-2 learns T-shirt vs shirt (a task hard enough
    // that a random head scores near chance). The good one sits between two bad ones, so "first" or "last"
    // cannot pass for "best".
    const r = await sweep({ source, task: 'fashion-mnist:binary=tshirt-top,shirt', perClass: 100, dataDir, download: false, space: { frozenLr: [1e-7, 1e-2, 3e-7], frozenEpochs: [3], unfrozenEpochs: [0] } });
    source.dispose();
    const vals = r.trials.map((t) => t.valAccuracy);
    console.log(`sweep choice: validation accuracies ${vals.join(', ')}; chosen test accuracy ${r.best.testAccuracy}`);
    expect(r.tried).toBe(3);
    expect(r.best.config.frozenLr).toBe(1e-2);
    expect(r.best.valAccuracy).toBe(Math.max(...vals));
    // Clearly best: measured 0.85 against 0.575 on 40 validation images; 15 points ahead is no coin toss.
    expect(r.best.valAccuracy - Math.max(vals[0]!, vals[2]!)).toBeGreaterThanOrEqual(0.15);
    const data = spy.prepared[0] as PreparedData;
    const isTest = (d: unknown): boolean => d === data.test;
    expect(spy.scored.map((d) => (isTest(d) ? 'test' : d === data.validation ? 'validation' : 'other'))).toEqual(['validation', 'validation', 'validation', 'test']);
    expect((spy.scored[3] as Dataset).y.length).toBe(2000);
  });
});
