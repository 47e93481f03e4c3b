import { beforeAll, describe, expect, it, vi } from 'vitest';
import { parseTaskSpec } from '../../src/data/task.js';
import { disposeModel } from '../../src/models/dispose.js';
import { buildMlp } from '../../src/models/mlp.js';
import type { PreparedData } from '../../src/workflows/prepare.js';
import { trainModel } from '../../src/workflows/train-model.js';
import { transferModel } from '../../src/workflows/transfer-model.js';
import { syntheticDataset, useBackend } from '../helpers.js';

/** Scoring the test set made slow on purpose (as on a large test set): 1 s per call. */
const SCORING_SECONDS = 1;
const sleep = (s: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, s * 1000);
vi.mock('../../src/evaluate/evaluate.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/evaluate/evaluate.js')>();
  return {
    ...real,
    evaluate: (...a: Parameters<typeof real.evaluate>) => (sleep(SCORING_SECONDS), real.evaluate(...a)),
    evaluateWithProbabilities: (...a: Parameters<typeof real.evaluateWithProbabilities>) => (sleep(SCORING_SECONDS), real.evaluateWithProbabilities(...a)),
    evaluateOn: (...a: Parameters<typeof real.evaluateOn>) => (sleep(SCORING_SECONDS), real.evaluateOn(...a)),
  };
});

beforeAll(useBackend);

const TASK = 'fashion-mnist:binary=tshirt-top,sandal';
const data: PreparedData = { spec: parseTaskSpec(TASK), task: TASK, train: syntheticDataset(80, 2, 31), test: syntheticDataset(40, 2, 33) };

describe('"s of training" counts training only', () => {
  it('transferModel: the test scoring after each phase is reported apart, not as training', async () => {
    const source = buildMlp({ classes: 4, inputShape: [8, 8], hidden: 12, seed: 9 });
    const r = await transferModel({ source, task: TASK, data, frozen: { epochs: 1 }, unfrozen: { epochs: 1 }, batchSize: 16, seed: 2 });
    const phases = r.phases.reduce((a, p) => a + p.seconds, 0);
    // Training is the phases plus a little set-up between them; two scorings would add 2 s.
    expect(r.seconds).toBeLessThan(phases + 0.5);
    expect(r.evaluationSeconds).toBeGreaterThanOrEqual(2 * SCORING_SECONDS);
    disposeModel(r.model);
    disposeModel(source);
  });

  it('trainModel: reports the scoring time too, apart from training', async () => {
    const started = performance.now();
    const r = await trainModel({ task: TASK, data, epochs: 1, batchSize: 16, seed: 1 });
    const wall = (performance.now() - started) / 1000;
    expect(r.evaluationSeconds).toBeGreaterThanOrEqual(SCORING_SECONDS);
    expect(r.seconds).toBeLessThanOrEqual(wall - SCORING_SECONDS);
    disposeModel(r.model);
  });
});
