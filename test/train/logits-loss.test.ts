import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fit } from '../../src/train/fit.js';
import { lossAndAccuracy } from '../../src/train/infer.js';
import { describeOutput } from '../../src/train/loss.js';
import type { Dataset } from '../../src/data/dataset.js';
import { useBackend } from '../helpers.js';

/**
 * Regression test for 457abfe. The cross-entropy used to be computed from probabilities clipped to
 * [1e-7, 1 - 1e-7]: once a sigmoid/softmax output saturated on the wrong class, the loss read a flat
 * 16.118 (-ln 1e-7) and its gradient was exactly zero, so training could never recover (the
 * from-scratch CNN of `graft seed --cnn` stuck at 50%). From logits, the loss of a wrong prediction
 * with margin 40 is about 40 and its gradient is full size.
 *
 * The models: a frozen identity Dense(4, relu) (inputs are ≥ 0, so its output is the input) and an
 * output layer whose weights make every training sample wrong by a logit margin of about 40.
 */

beforeAll(useBackend);

const MARGIN = 40;
const FEATURES = 4;
/** What the old clipped loss reported for a saturated wrong prediction: -ln(float32(1e-7)). */
const CLIPPED_CAP = -Math.log(Math.fround(1e-7));

/** Deterministic values in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Sample of class k: feature k near 1, the others small noise (so classes are separable). */
function dataset(n: number, classes: number, seed: number): Dataset {
  const next = lcg(seed);
  const x = new Float32Array(n * FEATURES);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % classes;
    y[i] = label;
    for (let j = 0; j < FEATURES; j++) x[i * FEATURES + j] = j === label ? 0.9 + 0.1 * next() : 0.1 * next();
  }
  return { x, y, sampleShape: [FEATURES], classNames: Array.from({ length: classes }, (_, k) => `c${k}`), pixelRange: 'unit', source: `saturated-${classes}` };
}

type Head = 'sigmoid' | 'softmax' | 'softmax-layer';

/** Output kernel [FEATURES, units]: sample of class k gets logit margin ≈ MARGIN for a wrong class. */
function wrongKernel(head: Head): number[][] {
  const units = head === 'sigmoid' ? 1 : 3;
  const w = Array.from({ length: FEATURES }, () => new Array<number>(units).fill(0));
  if (head === 'sigmoid') {
    w[0]![0] = MARGIN; // class 0 (feature 0 ≈ 1) gets logit ≈ +40: predicts 1
    w[1]![0] = -MARGIN; // class 1 (feature 1 ≈ 1) gets logit ≈ -40: predicts 0
  } else {
    for (let k = 0; k < 3; k++) w[k]![(k + 1) % 3] = MARGIN; // class k predicts class k+1
  }
  return w;
}

function build(head: Head): tfl.LayersModel {
  const units = head === 'sigmoid' ? 1 : 3;
  const model = tfl.sequential();
  model.add(tfl.layers.dense({ units: FEATURES, activation: 'relu', inputShape: [FEATURES], name: 'hidden' }));
  if (head === 'softmax-layer') {
    model.add(tfl.layers.dense({ units, name: 'out' }));
    model.add(tfl.layers.activation({ activation: 'softmax', name: 'probs' }));
  } else {
    model.add(tfl.layers.dense({ units, activation: head, name: 'out' }));
  }
  const identity = Array.from({ length: FEATURES }, (_, i) => Array.from({ length: FEATURES }, (_, j) => (i === j ? 1 : 0)));
  tf.tidy(() => {
    model.getLayer('hidden').setWeights([tf.tensor2d(identity), tf.zeros([FEATURES])]);
    model.getLayer('out').setWeights([tf.tensor2d(wrongKernel(head)), tf.zeros([units])]);
  });
  model.getLayer('hidden').trainable = false;
  return model;
}

/** Mean cross-entropy from the logits, in float64, independently of graft (inputs ≥ 0, so relu = identity). */
function expectedLoss(head: Head, data: Dataset): number {
  const w = wrongKernel(head);
  const n = data.y.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = data.x.subarray(i * FEATURES, (i + 1) * FEATURES);
    const z = w[0]!.map((_, c) => w.reduce((acc, row, j) => acc + x[j]! * row[c]!, 0));
    const label = data.y[i]!;
    if (head === 'sigmoid') {
      // -[y ln σ(z) + (1-y) ln(1-σ(z))] = softplus(z) - y z, written stably.
      const zi = z[0]!;
      sum += Math.max(zi, 0) - label * zi + Math.log1p(Math.exp(-Math.abs(zi)));
    } else {
      const max = Math.max(...z);
      sum += max + Math.log(z.reduce((acc, v) => acc + Math.exp(v - max), 0)) - z[label]!;
    }
  }
  return sum / n;
}

describe('cross-entropy from logits (regression: saturated outputs used to have a dead gradient)', () => {
  const cases: Array<{ head: Head; classes: number }> = [
    { head: 'sigmoid', classes: 2 },
    { head: 'softmax', classes: 3 },
    { head: 'softmax-layer', classes: 3 },
  ];

  for (const { head, classes } of cases) {
    it(`${head}: reports the true loss of a saturated wrong output and trains out of it`, async () => {
      const data = dataset(48, classes, 7);
      const model = build(head);
      const expected = expectedLoss(head, data);
      // Sanity of the set-up: every sample is wrong by a wide margin.
      expect(expected).toBeGreaterThan(0.9 * MARGIN - 1);
      expect(expected).toBeGreaterThan(CLIPPED_CAP + 15);

      // Validation path (infer.ts): the logit loss (about 36 here), not the clipped cap of about 16.
      const before = lossAndAccuracy(model, describeOutput(model), data);
      expect(before.accuracy).toBe(0);
      expect(before.loss).toBeCloseTo(expected, 2);

      // Training path (fit.ts): one full batch, so epoch 1's loss is the loss at the starting weights.
      const r = await fit(model, data, { epochs: 40, batchSize: data.y.length, optimizer: { name: 'sgd', learningRate: 5 }, validation: data });
      expect(r.stopReason).toBe('completed');
      expect(r.history[0]!.loss).toBeCloseTo(expected, 2);
      expect(r.history[0]!.accuracy).toBe(0);

      // Recovery (about 2 loss units per epoch): with the clipped loss the gradient was zero, nothing
      // moved, and every epoch read a loss of about 16 (-ln 1e-7), accuracy 0.
      const last = r.history[r.history.length - 1]!;
      expect(last.valLoss!).toBeLessThan(0.1);
      expect(last.valAccuracy!).toBe(1);
      expect(lossAndAccuracy(model, describeOutput(model), data).accuracy).toBe(1);
      model.dispose();
    });
  }
});
