import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { binaryAuc, perClassMetrics, confusionMatrix, scoreMetrics, topKAccuracy, topKFor } from '../../src/evaluate/metrics.js';
import { Rng } from '../../src/engine/rng.js';

describe('binaryAuc', () => {
  it('is the share of (positive, negative) pairs ranked right, ties counting one half', () => {
    // Positives score 0.9, 0.4, 0.4; negatives 0.4, 0.1. Pairs: (0.9,0.4) 1, (0.9,0.1) 1,
    // (0.4,0.4) ½ twice, (0.4,0.1) 1 twice: 5 of 6.
    expect(binaryAuc([0.9, 0.4, 0.4, 0.4, 0.1], [1, 1, 1, 0, 0])).toBeCloseTo(5 / 6, 12);
    expect(binaryAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(binaryAuc([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0])).toBe(0);
    expect(binaryAuc([0.5, 0.5, 0.5], [1, 0, 1])).toBe(0.5);
  });

  it('is NaN when a class is absent', () => {
    expect(binaryAuc([0.2, 0.7], [1, 1])).toBeNaN();
    expect(binaryAuc([0.2, 0.7], [0, 0])).toBeNaN();
  });

  it('equals the trapezoid area under the ROC curve (numpy, when available)', (ctx) => {
    const PYTHON = process.env.GRAFT_TORCH_PYTHON ?? '/tmp/peers/bin/python';
    const rng = new Rng(3);
    // Scores rounded to 1/20 so that ties occur, as with real float32 probabilities of similar images.
    const scores = Array.from({ length: 200 }, () => Math.round(rng.next() * 20) / 20);
    const labels = scores.map((s) => (rng.next() < 0.3 + 0.4 * s ? 1 : 0));
    // scikit-learn's roc_curve + auc, written out: thresholds at the distinct scores, descending.
    const script = `
import json, sys, numpy as np
d = json.load(sys.stdin); s = np.array(d["s"]); y = np.array(d["y"])
o = np.argsort(-s, kind="mergesort"); s, y = s[o], y[o]
last = np.r_[np.where(np.diff(s))[0], y.size - 1]
tps = np.cumsum(y)[last]; fps = 1 + last - tps
tpr = np.r_[0, tps] / tps[-1]; fpr = np.r_[0, fps] / fps[-1]
print(float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)))`;
    const run = existsSync(PYTHON) ? spawnSync(PYTHON, ['-c', script], { input: JSON.stringify({ s: scores, y: labels }), encoding: 'utf8', timeout: 60_000 }) : undefined;
    if (!run || run.status !== 0) {
      console.log(`AUC vs numpy skipped: ${run ? run.stderr.split('\n').slice(-2).join(' ') : `no Python at ${PYTHON}`}`);
      return ctx.skip();
    }
    expect(binaryAuc(scores, labels)).toBeCloseTo(Number(run.stdout.trim()), 12);
  });
});

describe('topKAccuracy', () => {
  it('counts a label among the k highest, ties at the boundary counting in', () => {
    const probs = Float32Array.from([
      0.5, 0.3, 0.2, 0.0, // label 1: second → in top 2
      0.1, 0.2, 0.3, 0.4, // label 0: fourth → out
      0.4, 0.3, 0.3, 0.0, // label 2: tied second → in
      0.25, 0.25, 0.25, 0.25, // label 3: all tied → in
    ]);
    expect(topKAccuracy(probs, 4, [1, 0, 2, 3], 2)).toBe(3 / 4);
    expect(topKAccuracy(probs, 4, [1, 0, 2, 3], 1)).toBe(1 / 4);
    expect(topKAccuracy(probs, 4, [1, 0, 2, 3], 4)).toBe(1);
  });

  it('is top-5 for more than 5 classes only', () => {
    expect(topKFor(10)).toBe(5);
    expect(topKFor(6)).toBe(5);
    expect(topKFor(5)).toBeUndefined();
    expect(topKFor(2)).toBeUndefined();
  });
});

describe('scoreMetrics', () => {
  it('binary: AUC of class 1 and the per-class metrics of the confusion matrix', () => {
    const p1 = [0.9, 0.6, 0.4, 0.3, 0.2, 0.7];
    const labels = [1, 1, 1, 0, 0, 0];
    const probs = Float32Array.from(p1.flatMap((p) => [1 - p, p]));
    const m = scoreMetrics(probs, 2, labels, ['neg', 'pos']);
    // Predicted 1 for 0.9, 0.6, 0.7: pos precision 2/3, recall 2/3; neg precision 2/3, recall 2/3.
    expect(m.perClass.map((c) => [c.name, c.precision, c.recall, c.support])).toEqual([
      ['neg', 2 / 3, 2 / 3, 3],
      ['pos', 2 / 3, 2 / 3, 3],
    ]);
    expect(m.macroF1).toBeCloseTo(2 / 3, 12);
    // Pairs (pos, neg) ranked right: 0.9 beats 3, 0.6 beats 2, 0.4 beats 2 → 7 of 9.
    expect(m.auc).toBeCloseTo(7 / 9, 6);
    expect(m.topK).toBeUndefined();
    expect(m.perClass).toEqual(perClassMetrics(confusionMatrix(labels, [1, 1, 0, 0, 0, 1], 2), ['neg', 'pos']));
  });

  it('many classes: top-5 and macro F1, no AUC', () => {
    const classes = 7;
    const n = 14;
    const rng = new Rng(9);
    const probs = Float32Array.from({ length: n * classes }, () => rng.next());
    const labels = Array.from({ length: n }, (_, i) => i % classes);
    const m = scoreMetrics(probs, classes, labels, Array.from({ length: classes }, (_, k) => `c${k}`));
    expect(m.auc).toBeUndefined();
    expect(m.topK).toEqual({ k: 5, accuracy: topKAccuracy(probs, classes, labels, 5) });
    expect(m.macroF1).toBeCloseTo(m.perClass.reduce((a, c) => a + c.f1, 0) / classes, 12);
  });
});
