import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fit, type FitOptions } from '../../src/train/fit.js';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { Rng, deriveSeed } from '../../src/engine/rng.js';
import type { Dataset } from '../../src/data/dataset.js';
import { parseClassWeight, resolveClassWeights, type ClassWeight } from '../../src/train/class-weight.js';
import { weightedLossOf } from '../../src/train/loss.js';
import { liveTensors, rejectsWith, thrown, useBackend } from '../helpers.js';
import { expectSameTraining, trainOnBoth } from './engine-agreement.js';

beforeAll(useBackend);

/**
 * Class weights (Keras's class_weight) on both engines: the same steps on TF.js and onnxruntime,
 * and the same as real Keras 3 given the same starting weights and batches (1e-5 relative).
 */
const ort = await loadOnnxRuntime();
const noOrt = typeof ort === 'string' ? ort : undefined;
if (noOrt) console.log(`class-weight engine-agreement tests skipped: ${noOrt}`);

const PYTHON = process.env.GRAFT_KERAS_PYTHON ?? '/tmp/peers/bin/python';
const probe = existsSync(PYTHON) ? spawnSync(PYTHON, ['-c', 'import keras; print(keras.__version__)'], { encoding: 'utf8', timeout: 180_000, env: { ...process.env, KERAS_BACKEND: 'tensorflow' } }) : undefined;
const kerasVersion = probe?.status === 0 ? probe.stdout.trim().split('\n').pop() : undefined;
const noKeras =
  probe === undefined
    ? `no Python at ${PYTHON} (set GRAFT_KERAS_PYTHON to a Python with Keras 3)`
    : kerasVersion === undefined
      ? `${PYTHON} cannot import keras: ${(probe.stderr || String(probe.error)).trim().split('\n').pop()}`
      : !kerasVersion.startsWith('3.')
        ? `${PYTHON} has Keras ${kerasVersion}, not Keras 3`
        : undefined;

const DIM = 6;

/** Imbalanced, overlapping clusters: class c has counts[c] samples around a centre of its own. */
function clusters(counts: readonly number[], seed: number, spread = 0.18): Dataset {
  const rng = new Rng(seed);
  const n = counts.reduce((a, b) => a + b, 0);
  const x = new Float32Array(n * DIM);
  const y = new Int32Array(n);
  let i = 0;
  counts.forEach((count, c) => {
    for (let k = 0; k < count; k++, i++) {
      y[i] = c;
      for (let j = 0; j < DIM; j++) {
        const centre = 0.5 + (j % counts.length === c ? 0.15 : -0.05);
        // Sum of uniforms: roughly normal, and always inside [0, 1].
        const noise = (rng.next() + rng.next() + rng.next() - 1.5) * spread;
        x[i * DIM + j] = Math.min(1, Math.max(0, centre + noise));
      }
    }
  });
  return { x, y, sampleShape: [DIM], classNames: counts.map((_, c) => `k${c}`), pixelRange: 'unit', source: 'clusters' };
}

type Head = 'softmax' | 'sigmoid' | 'linear';

function mlp(head: Head, classes: number, seed = 3): tfl.LayersModel {
  const m = tfl.sequential({ name: 'cw' });
  m.add(tfl.layers.dense({ inputShape: [DIM], units: 5, activation: 'tanh', name: 'h', kernelInitializer: tfl.initializers.glorotUniform({ seed }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed + 1 }) }));
  const units = head === 'sigmoid' || classes === 1 ? 1 : classes;
  m.add(tfl.layers.dense({ units, activation: head, name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 2 }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed + 3 }) }));
  return m;
}

interface Case {
  name: string;
  head: Head;
  /** Output units (1: binary). */
  units: number;
  counts: number[];
  classWeight: ClassWeight;
  optimizer: NonNullable<FitOptions['optimizer']>;
}

const CASES: Case[] = [];
for (const optimizer of [{ name: 'sgd' as const, learningRate: 0.3 }, { name: 'adam' as const, learningRate: 0.02 }]) {
  CASES.push(
    { name: `softmax, map by name, ${optimizer.name}`, head: 'softmax', units: 3, counts: [14, 5, 3], classWeight: { k0: 0.5, k2: 3 }, optimizer },
    { name: `softmax, balanced, ${optimizer.name}`, head: 'softmax', units: 3, counts: [14, 5, 3], classWeight: 'balanced', optimizer },
    { name: `sigmoid, balanced, ${optimizer.name}`, head: 'sigmoid', units: 1, counts: [17, 5], classWeight: 'balanced', optimizer },
    { name: `logits (3 units), map by index, ${optimizer.name}`, head: 'linear', units: 3, counts: [14, 5, 3], classWeight: { '1': 2.5, '2': 0.25 }, optimizer },
    { name: `logits (1 unit), map, ${optimizer.name}`, head: 'linear', units: 1, counts: [17, 5], classWeight: { k1: 4 }, optimizer },
  );
}
// 22 samples, batches of 8: the last batch of each epoch is short, where "/ batch size" shows.
const FIT = { epochs: 3, batchSize: 8, seed: 5 } as const;

function caseData(c: Case): Dataset {
  return clusters(c.counts, 11);
}

describe.skipIf(noOrt !== undefined)('class weights: onnxruntime and TF.js train the same', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const data = caseData(c);
      const options: FitOptions = { ...FIT, optimizer: c.optimizer, classWeight: c.classWeight };
      const r = await trainOnBoth(() => mlp(c.head, c.units), data, options);
      expectSameTraining(r, c.name);
      expect(r.ra.classWeights).toEqual(r.rb.classWeights);
      // The weights reach the loss: unweighted training ends elsewhere on both engines.
      const plain = await trainOnBoth(() => mlp(c.head, c.units), data, { ...FIT, optimizer: c.optimizer });
      expect(Math.abs(plain.ra.history[0]!.loss - r.ra.history[0]!.loss), 'TF.js loss ignores the weights').toBeGreaterThan(1e-3);
      expect(Math.abs(plain.rb.history[0]!.loss - r.rb.history[0]!.loss), 'onnxruntime loss ignores the weights').toBeGreaterThan(1e-3);
      expect(maxDiff(plain.wa, r.wa), 'TF.js steps ignore the weights').toBeGreaterThan(1e-3);
      expect(maxDiff(plain.wb, r.wb), 'onnxruntime steps ignore the weights').toBeGreaterThan(1e-3);
    });
  }
});

function maxDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [name, wa] of a) wa.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b.get(name)![i]!))));
  return worst;
}

/** The order fit visits the samples in each epoch (fit.ts: one Rng per phase, one shuffle per epoch; no dropout here). */
function fitOrder(n: number, epochs: number, seed: number, phase = 'train'): Int32Array[] {
  const rng = new Rng(deriveSeed(seed, `fit:${phase}`));
  const order = Int32Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: epochs }, () => rng.shuffle(order).slice());
}

/**
 * Keras's results come from running it (keras_class_weight.py) when a Python with Keras 3 is here,
 * else from the reference that script recorded (REFERENCE, rewritten with GRAFT_WRITE_KERAS_REFERENCE=1),
 * which is used only while the jobs it was made from are unchanged (their SHA-256 is kept with it).
 */
const REFERENCE = path.resolve(__dirname, '../../fixtures/keras/class-weight-reference.json');

describe('class weights: the same training as real Keras 3 (fit with class_weight)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'graft-class-weight-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const engines = noOrt ? (['tfjs'] as const) : (['tfjs', 'onnxruntime'] as const);
  const graft: Array<Record<string, { losses: number[]; weights: Float32Array[] }>> = [];
  let keras: Array<{ losses: number[]; weights: number[][]; classWeight: Record<string, number> }> | undefined;
  let skip: string | undefined;

  beforeAll(async () => {
    const jobs: unknown[] = [];
    for (const c of CASES) {
      const data = caseData(c);
      const start = mlp(c.head, c.units);
      const n = data.y.length;
      const layers = start.layers.map((l) => {
        const [kernel, bias] = l.getWeights();
        const cfg = l.getConfig() as { units: number; activation: string };
        return { units: cfg.units, activation: cfg.activation, kernelShape: kernel!.shape, kernel: Array.from(kernel!.dataSync()), bias: Array.from(bias!.dataSync()) };
      });
      const classWeight = c.classWeight === 'balanced' ? 'balanced' : Object.fromEntries([...resolveClassWeights(c.classWeight, data.y, data.classNames)].map((w, k) => [String(k), w]));
      jobs.push({
        inputDim: DIM,
        layers,
        classes: data.classNames.length,
        loss: c.units === 1 ? 'binary' : 'sparse',
        fromLogits: c.head === 'linear',
        optimizer: c.optimizer,
        tfjsAdamEpsilon: true,
        batchSize: FIT.batchSize,
        classWeight,
        epochs: fitOrder(n, FIT.epochs, FIT.seed).map((order) => ({ x: Array.from(order, (i) => Array.from(data.x.subarray(i * DIM, (i + 1) * DIM))), y: Array.from(order, (i) => data.y[i]!) })),
      });
      const perEngine: (typeof graft)[number] = {};
      for (const engine of engines) {
        const m = mlp(c.head, c.units);
        const r = await fit(m, data, { ...FIT, optimizer: c.optimizer, classWeight: c.classWeight, engine });
        perEngine[engine] = { losses: r.history.map((e) => e.loss), weights: m.getWeights().map((w) => w.dataSync() as Float32Array) };
      }
      graft.push(perEngine);
      start.dispose();
    }
    const text = JSON.stringify(jobs);
    const sha = createHash('sha256').update(text).digest('hex');
    if (noKeras) {
      const saved = existsSync(REFERENCE) ? (JSON.parse(readFileSync(REFERENCE, 'utf8')) as { jobsSha256: string; kerasVersion: string; results: typeof keras }) : undefined;
      if (!saved) skip = `${noKeras}, and no recorded reference at ${REFERENCE}`;
      else if (saved.jobsSha256 !== sha) throw new Error(`${REFERENCE} was recorded for other jobs (the cases or graft's batch order changed): rerun with a Keras 3 Python and GRAFT_WRITE_KERAS_REFERENCE=1.`);
      else {
        console.log(`class weights vs Keras: using the reference recorded with Keras ${saved.kerasVersion} (${noKeras})`);
        keras = saved.results;
      }
      return;
    }
    writeFileSync(path.join(dir, 'jobs.json'), text);
    const run = spawnSync(PYTHON, [path.resolve(__dirname, 'keras_class_weight.py'), path.join(dir, 'jobs.json'), path.join(dir, 'out.json')], {
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, KERAS_BACKEND: 'tensorflow', TF_CPP_MIN_LOG_LEVEL: '3' },
    });
    if (run.status !== 0) throw new Error(`Keras reference failed: ${run.stderr}`);
    keras = JSON.parse(readFileSync(path.join(dir, 'out.json'), 'utf8'));
    if (process.env.GRAFT_WRITE_KERAS_REFERENCE === '1') writeFileSync(REFERENCE, `${JSON.stringify({ kerasVersion, jobsSha256: sha, results: keras })}\n`);
  }, 600_000);

  CASES.forEach((c, i) => {
    it(c.name, (ctx) => {
      if (skip) return ctx.skip();
      const ref = keras![i]!;
      for (const [engine, got] of Object.entries(graft[i]!)) {
        got.losses.forEach((l, e) => expect(Math.abs(l - ref.losses[e]!) / Math.abs(ref.losses[e]!), `${engine} epoch ${e + 1} loss ${l} vs Keras ${ref.losses[e]}`).toBeLessThan(1e-5));
        got.weights.forEach((w, v) => {
          const k = ref.weights[v]!;
          const scale = Math.max(...k.map(Math.abs));
          let worst = 0;
          w.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - k[j]!))));
          expect(worst / scale, `${engine} weight ${v} differs from Keras by ${worst} (largest ${scale})`).toBeLessThan(1e-5);
        });
      }
    });
  });
});

describe('class weights: balanced helps the minority class', () => {
  it('raises the recall of a 1-in-15 class on a balanced test set', async () => {
    const train = clusters([900, 60], 21, 0.5);
    const test = clusters([300, 300], 22, 0.5);
    const recall = async (classWeight?: 'balanced'): Promise<number> => {
      const m = mlp('softmax', 2, 7);
      await fit(m, train, { epochs: 8, batchSize: 32, seed: 1, optimizer: { name: 'adam', learningRate: 0.01 }, engine: 'tfjs', ...(classWeight && { classWeight }) });
      const xs = tfTensor(test);
      const out = m.predict(xs) as tf.Tensor;
      const p = out.arraySync() as number[][];
      tf.dispose([xs, out]);
      m.dispose();
      let hit = 0;
      p.forEach((row, i) => test.y[i] === 1 && row[1]! > row[0]! && hit++);
      return hit / 300;
    };
    const plain = await recall();
    const balanced = await recall('balanced');
    console.log(`minority recall: unweighted ${(100 * plain).toFixed(1)}%, balanced ${(100 * balanced).toFixed(1)}%`);
    expect(balanced - plain).toBeGreaterThan(0.2);
  });
});

function tfTensor(d: Dataset): tf.Tensor {
  return tf.tensor(d.x, [d.y.length, ...d.sampleShape]);
}

describe('class weights: the loss', () => {
  // forwardForLoss hands the loss logits wherever it can; this is the branch for heads it cannot (probabilities).
  it('from probabilities, as from logits: sum(w_i · cross-entropy_i) / batch size', () => {
    const before = liveTensors();
    tf.tidy(() => {
      const w = tf.tensor1d([0.5, 3, 2]);
      const labels = tf.tensor1d([0, 1, 1]);
      const loss = (head: Parameters<typeof weightedLossOf>[0], out: tf.Tensor, logits: boolean): number => weightedLossOf(head, out, logits, labels, w).dataSync()[0]!;
      const z = tf.tensor2d([[0.3, -0.2], [1.1, 0.4], [-0.5, 0.9]]);
      const softmaxHead = { activation: 'softmax' as const, units: 2, classes: 2 };
      const p = tf.softmax(z).arraySync() as number[][];
      const expected = (0.5 * -Math.log(p[0]![0]!) + 3 * -Math.log(p[1]![1]!) + 2 * -Math.log(p[2]![1]!)) / 3;
      expect(loss(softmaxHead, tf.softmax(z), false)).toBeCloseTo(expected, 5);
      expect(loss(softmaxHead, z, true)).toBeCloseTo(expected, 5);
      const sigmoidHead = { activation: 'sigmoid' as const, units: 1, classes: 2 };
      const z1 = tf.tensor2d([[0.3], [1.1], [-0.5]]);
      const q = tf.sigmoid(z1).dataSync();
      const expected1 = (0.5 * -Math.log(1 - q[0]!) + 3 * -Math.log(q[1]!) + 2 * -Math.log(q[2]!)) / 3;
      expect(loss(sigmoidHead, tf.sigmoid(z1), false)).toBeCloseTo(expected1, 5);
      expect(loss(sigmoidHead, z1, true)).toBeCloseTo(expected1, 5);
    });
    expect(liveTensors()).toBe(before);
  });

  it('leaves no tensors behind in a weighted fit on either engine', async () => {
    const data = clusters([14, 5, 3], 11);
    for (const engine of noOrt ? (['tfjs'] as const) : (['tfjs', 'onnxruntime'] as const)) {
      const m = mlp('softmax', 3);
      const before = liveTensors();
      await fit(m, data, { ...FIT, classWeight: 'balanced', engine });
      expect(liveTensors(), engine).toBe(before);
      m.dispose();
    }
  });
});

describe('class weights: values', () => {
  const y = Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 2]);
  const names = ['cat', 'dog', 'bird'];

  it('balanced is n / (classes × count), on the labels given', () => {
    expect([...resolveClassWeights('balanced', y, names)]).toEqual([9 / 18, 9 / 6, 9 / 3].map(Math.fround));
  });

  it('a map by name or index; unlisted classes keep 1 (as Keras)', () => {
    expect([...resolveClassWeights({ dog: 2, '2': 0.5 }, y, names)]).toEqual([1, 2, 0.5]);
    // Names as task specs write them: "tshirt-top" is "T-shirt/top".
    expect([...resolveClassWeights({ 'tshirt-top': 3 }, Int32Array.from([0, 1]), ['T-shirt/top', 'Sandal'])]).toEqual([3, 1]);
  });

  it('parses balanced and class=weight lists', () => {
    expect(parseClassWeight('balanced')).toBe('balanced');
    expect(parseClassWeight('dog=2, 0=0.5')).toEqual({ dog: 2, '0': 0.5 });
  });

  it('refuses bad values, naming what was received', () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [() => resolveClassWeights({ cow: 2 }, y, names), /"cow".*not a class.*0 "cat", 1 "dog", 2 "bird"/],
      [() => resolveClassWeights({ '3': 2 }, y, names), /"3".*not a class/],
      [() => resolveClassWeights({ dog: 0 }, y, names), /"dog".*> 0; received 0/],
      [() => resolveClassWeights({ dog: -1 }, y, names), /received -1/],
      [() => resolveClassWeights({ dog: NaN }, y, names), /received NaN/],
      [() => resolveClassWeights({ dog: Infinity }, y, names), /received Infinity/],
      [() => resolveClassWeights({ dog: 2, '1': 3 }, y, names), /class "dog" twice \(as "1" and "dog"\)/],
      [() => resolveClassWeights('balanced', Int32Array.from([0, 0, 2]), names), /no samples of "dog".*cat 2, dog 0, bird 1/],
      [() => resolveClassWeights('even' as 'balanced', y, names), /"balanced" or a map.*received "even"/],
      [() => parseClassWeight('dog=2,dog=3'), /"dog" is listed twice/],
      [() => parseClassWeight('dog=abc'), /weight of "dog".*"abc"/],
      [() => parseClassWeight('dog=0'), /weight of "dog".*"0"/],
      [() => parseClassWeight('dog'), /"dog" is not class=weight/],
      [() => parseClassWeight(''), /empty/],
      [() => parseClassWeight('balance'), /"balance" is not class=weight/],
    ];
    for (const [f, message] of cases) {
      const e = thrown(f);
      expect(e.code).toBe('BAD_ARGUMENT');
      expect(e.message).toMatch(message);
    }
  });

  it('fit refuses them before training', async () => {
    const data = clusters([6, 0, 3], 1);
    const e = await rejectsWith(fit(mlp('softmax', 3), data, { epochs: 1, classWeight: 'balanced' }), 'BAD_ARGUMENT');
    expect(e.message).toMatch(/no samples of "k1"/);
    await rejectsWith(fit(mlp('softmax', 3), data, { epochs: 1, classWeight: { k9: 1 } }), 'BAD_ARGUMENT');
  });

  it('fit reports the weights it used, by class name, and says so', async () => {
    const data = clusters([6, 2, 3], 1);
    const messages: string[] = [];
    const r = await fit(mlp('softmax', 3), data, { epochs: 1, classWeight: 'balanced', engine: 'tfjs', callbacks: { onMessage: (t) => messages.push(t) } });
    expect(Object.keys(r.classWeights!)).toEqual(['k0', 'k1', 'k2']);
    [11 / 18, 11 / 6, 11 / 9].forEach((w, c) => expect(r.classWeights![`k${c}`]).toBeCloseTo(w, 6));
    expect(messages.join('\n')).toMatch(/class weights \(balanced\): k0 0\.6111, k1 1\.833, k2 1\.222/);
  });
});
