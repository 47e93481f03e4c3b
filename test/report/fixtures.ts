import type { CompareResult, CompareRow, Trial, TrainSize } from '../../src/evaluate/compare-result.js';
import { perClassMetrics } from '../../src/evaluate/metrics.js';
import { confidenceInterval, pairedDifference, verdict } from '../../src/evaluate/stats.js';
import type { PhaseRecord, RunInfo } from '../../src/io/run-dir.js';
import type { EpochRecord } from '../../src/train/types.js';

/** Synthetic but realistic report inputs: no training, deterministic numbers. */

export const FASHION8 = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sneaker', 'Bag', 'Ankle boot'];

function phase(name: string, epochs: number, lr: number, start: number, withVal: boolean): PhaseRecord {
  const history: EpochRecord[] = Array.from({ length: epochs }, (_, i) => {
    const t = start + i;
    const r: EpochRecord = { phase: name, epoch: i + 1, loss: 0.9 * Math.exp(-t / 5) + 0.08, accuracy: 0.97 - 0.35 * Math.exp(-t / 4), learningRate: lr, seconds: 1.2 };
    // Validation bottoms out and rises again: the overfitting the curves must show.
    if (withVal) Object.assign(r, { valLoss: 0.9 * Math.exp(-t / 5) + 0.12 + 0.004 * t * t / 4, valAccuracy: 0.93 - 0.33 * Math.exp(-t / 4) - 0.002 * t });
    return r;
  });
  return { name, epochs, optimizer: { name: 'sgd', learningRate: lr, momentum: 0, weightDecay: 0, rho: 0.9, epsilon: 1e-7 }, trainableLayers: name === 'frozen' ? ['head'] : ['dense', 'head'], stopReason: 'completed', seconds: epochs * 1.2, history };
}

export function confusion(classes: number, perClass = 100): number[][] {
  return Array.from({ length: classes }, (_, i) =>
    Array.from({ length: classes }, (_, j) => (i === j ? perClass - 3 * ((i % 3) + 1) : j === (i + 1) % classes ? 3 * ((i % 3) + 1) : 0)),
  );
}

export function runInfo(o: { kind?: RunInfo['kind']; classNames?: string[]; withVal?: boolean; phases?: Array<[string, number, number]>; task?: string; accuracy?: number } = {}): RunInfo {
  const classNames = o.classNames ?? FASHION8;
  const specs = o.phases ?? [['frozen', 4, 0.001], ['unfrozen', 16, 0.0001]];
  let start = 0;
  const phases = specs.map(([n, e, lr]) => {
    const p = phase(n, e, lr, start, o.withVal ?? true);
    start += e;
    return p;
  });
  const m = confusion(classNames.length);
  const test = { accuracy: o.accuracy ?? 0.94, loss: 0.21, confusion: m, perClass: perClassMetrics(m, classNames), count: 100 * classNames.length };
  return {
    graftVersion: '0.1.0',
    tfjsVersion: '4.22.0',
    createdAt: '2026-11-27T20:00:00.000Z',
    kind: o.kind ?? 'transfer',
    task: o.task ?? 'fashion-mnist:exclude=sandal,shirt',
    classNames,
    sampleShape: [28, 28],
    preprocessing: { pixelScale: 1 / 255 },
    seed: 0,
    backend: 'wasm',
    architecture: 'mlp',
    ...(o.kind === 'transfer' || o.kind === undefined ? { source: { path: 'runs/seed/model-a', task: 'fashion-mnist' }, transfer: { cut: 'dense', reused: ['flatten', 'dense', 'dropout'], head: ['head'], frozen: ['flatten', 'dense', 'dropout'] } } : {}),
    phases,
    metrics: { test, ...(o.kind === 'transfer' || o.kind === undefined ? { frozenTest: { ...test, accuracy: 0.9 } } : {}) },
  };
}

/** `seeds` seeds per size; transfer clearly helps at small sizes and not at the largest. */
export function compareResult(sizes: TrainSize[] = [10, 50, 'all'], seeds = 5): CompareResult {
  const trials: Trial[] = [];
  const rows: CompareRow[] = sizes.map((size, si) => {
    const t: number[] = [];
    const s: number[] = [];
    for (let k = 0; k < seeds; k++) {
      const jitter = ((k * 7919) % 13) / 250;
      const scratch = [0.2, 0.09, 0.05][si % 3]! + jitter;
      const transfer = [0.06, 0.05, 0.05][si % 3]! + ((k * 104729) % 11) / 400;
      t.push(transfer);
      s.push(scratch);
      for (const [arm, err] of [['transfer', transfer], ['scratch', scratch]] as const) {
        trials.push({ trainSize: size, seed: k, arm, testAccuracy: 1 - err, testError: err, testLoss: err * 2, valAccuracy: 1 - err, epochs: 20, seconds: 3, trainCount: 80 });
      }
    }
    const difference = pairedDifference(t, s);
    const transfer = confidenceInterval(t);
    const scratch = confidenceInterval(s);
    return { trainSize: size, transfer, scratch, difference, verdict: verdict(difference), errorRatio: scratch.mean / transfer.mean };
  });
  return {
    kind: 'compare',
    createdAt: '2026-11-27T20:00:00.000Z',
    graftVersion: '0.1.0',
    backend: 'wasm',
    source: 'runs/seed/model-a',
    task: 'fashion-mnist:binary=shirt,sandal',
    classNames: ['shirt', 'sandal'],
    seeds: Array.from({ length: seeds }, (_, i) => i),
    settings: { frozenEpochs: 4, unfrozenEpochs: 16, scratchEpochs: 20, frozenOptimizer: 'sgd(lr=0.001)', unfrozenOptimizer: 'sgd(lr=0.0001)', scratchOptimizer: 'sgd(lr=0.001)', valSplit: 0.2, earlyStoppingPatience: 5, batchSize: 32 },
    rows,
    trials,
    seconds: 312,
  };
}
