import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fit } from '../../src/train/fit.js';
import { crossEntropy, describeOutput } from '../../src/train/loss.js';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { Rng } from '../../src/engine/rng.js';
import type { Dataset } from '../../src/data/dataset.js';
import { liveTensors, syntheticDataset, thrown, useBackend } from '../helpers.js';
import { expectSameTraining, trainOnBoth } from './engine-agreement.js';

beforeAll(useBackend);

/**
 * Label smoothing against PyTorch (torch_label_smoothing.py): the same MLP from the same weights,
 * full-batch SGD (so the sample order cannot matter), ε = 0.2. Each step's loss and the final
 * weights agree to 1e-5 relative on both engines; the unsmoothed loss is checked to miss the
 * reference, so the comparison can tell smoothing from none.
 */
const PYTHON = process.env.GRAFT_TORCH_PYTHON ?? '/tmp/peers/bin/python';
const probe = existsSync(PYTHON) ? spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120_000 }) : undefined;
const noTorch = !probe ? `no Python at ${PYTHON}` : probe.status !== 0 ? `PyTorch does not import in ${PYTHON}` : undefined;
if (noTorch) console.log(`label smoothing vs PyTorch skipped: ${noTorch}`);
const ort = await loadOnnxRuntime();
const engines = typeof ort === 'string' ? (['tfjs'] as const) : (['tfjs', 'onnxruntime'] as const);
if (typeof ort === 'string') console.log(`label smoothing on onnxruntime skipped: ${ort}`);

const N = 24;
const D = 6;
const EPS = 0.2;
const STEPS = 3;
const RATE = 0.5;

function data(classes: number): Dataset {
  const rng = new Rng(5);
  const x = Float32Array.from({ length: N * D }, () => rng.next());
  const y = Int32Array.from({ length: N }, (_, i) => (i * 7) % classes);
  return { x, y, sampleShape: [D], classNames: Array.from({ length: classes }, (_, k) => `c${k}`), pixelRange: 'unit', source: `smoothing-${classes}` };
}

function model(head: 'softmax' | 'sigmoid', units: number): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [D], units: 5, activation: 'tanh', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 2 }) }),
      tfl.layers.dense({ units, activation: head, kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 4 }) }),
    ],
  });
}

interface Reference {
  losses: number[];
  weights: number[][];
}

function torchReference(m: tfl.LayersModel, d: Dataset, head: string, eps: number): Reference {
  const dir = mkdtempSync(path.join(tmpdir(), 'graft-smoothing-'));
  try {
    const layers = m.layers.map((l) => {
      const [k, b] = l.getWeights();
      return { kernel: Array.from(k!.dataSync()), kernelShape: k!.shape, bias: Array.from(b!.dataSync()) };
    });
    const job = { x: Array.from(d.x as Float32Array), inputDim: D, labels: Array.from(d.y), layers, head, labelSmoothing: eps, learningRate: RATE, steps: STEPS };
    writeFileSync(path.join(dir, 'job.json'), JSON.stringify(job));
    const run = spawnSync(PYTHON, [path.resolve(__dirname, 'torch_label_smoothing.py'), path.join(dir, 'job.json'), path.join(dir, 'out.json')], { encoding: 'utf8', timeout: 120_000 });
    if (run.status !== 0) throw new Error(`PyTorch reference failed: ${run.stderr}`);
    return JSON.parse(readFileSync(path.join(dir, 'out.json'), 'utf8')) as Reference;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Largest difference over the largest reference value, per weight array. */
function worstWeight(got: tf.Tensor[], ref: number[][]): number {
  let worst = 0;
  got.forEach((t, v) => {
    const a = t.dataSync();
    const r = ref[v]!;
    const scale = Math.max(1e-3, ...r.map(Math.abs));
    a.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - r[j]!) / scale)));
  });
  return worst;
}

describe.skipIf(noTorch !== undefined)('label smoothing matches PyTorch', () => {
  for (const [head, units] of [['softmax', 3], ['softmax', 2], ['sigmoid', 1]] as const) {
    const classes = units === 1 ? 2 : units;
    for (const engine of engines) {
      it(`${head} head with ${units} unit${units > 1 ? 's' : ''} on ${engine}`, async () => {
        const d = data(classes);
        const start = model(head, units);
        const ref = torchReference(start, d, head, EPS);
        const train = async (eps: number): Promise<{ losses: number[]; weights: tf.Tensor[] }> => {
          const m = model(head, units);
          m.setWeights(start.getWeights());
          const r = await fit(m, d, { epochs: STEPS, batchSize: N, optimizer: { name: 'sgd', learningRate: RATE }, labelSmoothing: eps, engine });
          expect(r.engine?.engine).toBe(engine);
          return { losses: r.history.map((e) => e.loss), weights: m.getWeights() };
        };
        const smoothed = await train(EPS);
        smoothed.losses.forEach((l, i) => expect(Math.abs(l - ref.losses[i]!) / ref.losses[i]!, `step ${i + 1}: loss ${l} vs PyTorch ${ref.losses[i]}`).toBeLessThan(1e-5));
        expect(worstWeight(smoothed.weights, ref.weights)).toBeLessThan(1e-5);
        // Without smoothing the same steps land elsewhere: ten times the tolerance above at least.
        const plain = await train(0);
        expect(Math.abs(plain.losses[0]! - ref.losses[0]!) / ref.losses[0]!).toBeGreaterThan(1e-4);
        expect(worstWeight(plain.weights, ref.weights)).toBeGreaterThan(1e-4);
      });
    }
  }
});

describe('label smoothing of probabilities', () => {
  it('gives the same loss from probabilities as from logits (softmax and sigmoid)', () => {
    const before = liveTensors();
    tf.tidy(() => {
      const labels = tf.tensor1d([0, 2, 1, 2]);
      const logits = tf.tensor2d([[1, -2, 0.5], [0.3, 0.1, -1], [2, 2, -3], [0, 0, 0]]);
      const h = { units: 3, classes: 3 };
      for (const e of [0, 0.1, 0.3]) {
        const fromLogits = crossEntropy({ ...h, activation: 'linear' }, logits, labels, e).dataSync()[0]!;
        const fromProbs = crossEntropy({ ...h, activation: 'softmax' }, tf.softmax(logits), labels, e).dataSync()[0]!;
        expect(fromProbs).toBeCloseTo(fromLogits, 5);
      }
      const z = tf.tensor2d([[1.5], [-0.5], [0.2], [-2]]);
      const y = tf.tensor1d([1, 0, 0, 1]);
      const b = { units: 1, classes: 2 };
      for (const e of [0, 0.1, 0.3]) {
        const fromLogits = crossEntropy({ ...b, activation: 'linear' }, z, y, e).dataSync()[0]!;
        const fromProbs = crossEntropy({ ...b, activation: 'sigmoid' }, tf.sigmoid(z), y, e).dataSync()[0]!;
        expect(fromProbs).toBeCloseTo(fromLogits, 5);
      }
    });
    expect(liveTensors()).toBe(before);
  });

  it('is the hand-computed smoothed cross-entropy on a small case', () => {
    // Two classes, probabilities [0.8, 0.2], label 0, ε = 0.5: targets [0.75, 0.25].
    const loss = tf.tidy(() => crossEntropy({ units: 2, classes: 2, activation: 'softmax' }, tf.tensor2d([[0.8, 0.2]]), tf.tensor1d([0]), 0.5).dataSync()[0]!);
    expect(loss).toBeCloseTo(-(0.75 * Math.log(0.8) + 0.25 * Math.log(0.2)), 6);
  });

  it('refuses ε outside [0, 1)', async () => {
    const m = model('softmax', 3);
    for (const bad of [-0.1, 1, Number.NaN]) {
      await expect(fit(m, data(3), { epochs: 1, labelSmoothing: bad })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    }
    expect(thrown(() => describeOutput(tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [2], units: 3, activation: 'relu' })] }))).code).toBe('LOSS_ACTIVATION_MISMATCH');
  });
});

describe.skipIf(typeof ort === 'string')('label smoothing: the engines agree', () => {
  for (const head of ['softmax', 'sigmoid'] as const) {
    it(`${head} head, minibatches, dropout, momentum and class weights`, async () => {
      const units = head === 'sigmoid' ? 1 : 3;
      const d = syntheticDataset(90, units === 1 ? 2 : 3, 11, 4);
      const make = (): tfl.LayersModel =>
        tfl.sequential({
          layers: [
            tfl.layers.flatten({ inputShape: [4, 4], name: 'flat' }),
            tfl.layers.dense({ units: 8, activation: 'relu', name: 'hidden', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
            tfl.layers.dropout({ rate: 0.25, name: 'drop' }),
            tfl.layers.dense({ units, activation: head, name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
          ],
        });
      const r = await trainOnBoth(make, d, { epochs: 3, batchSize: 16, seed: 3, optimizer: { name: 'sgd', learningRate: 0.2, momentum: 0.9 }, labelSmoothing: 0.15, classWeight: { 1: 2.5 } });
      expectSameTraining(r, `${head} smoothed`);
    });
  }
});
