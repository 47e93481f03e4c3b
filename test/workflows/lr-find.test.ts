import { beforeAll, describe, expect, it } from 'vitest';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildMlp } from '../../src/models/mlp.js';
import { lrFind } from '../../src/workflows/lr-find.js';
import { LR_FIND_DEFAULTS, LossSmoother, checkLrRange, divergedLoss, rangeRate, suggestRates } from '../../src/workflows/lr-find-curve.js';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { liveTensors, sameValues, syntheticDataset, thrown, useBackend, weightValues } from '../helpers.js';

beforeAll(useBackend);

const ort = await loadOnnxRuntime();
const noOrt = typeof ort === 'string' ? ort : undefined;
if (noOrt) console.log(`lr-find tests on onnxruntime skipped: ${noOrt}`);

const data = syntheticDataset(96, 4, 5);
const mlp = (): tfl.LayersModel => buildMlp({ classes: 4, inputShape: [8, 8], hidden: 12, dropout: 0.2, seed: 7 });

describe('range-test arithmetic', () => {
  it('the rates rise exponentially: min first, max last, one constant ratio between', () => {
    const [min, max, steps] = [1e-7, 10, 100];
    const rates = Array.from({ length: steps }, (_, i) => rangeRate(min, max, steps, i));
    expect(rates[0]).toBe(min);
    expect(rates[steps - 1]).toBe(max);
    const ratio = Math.pow(max / min, 1 / (steps - 1));
    for (let i = 1; i < steps; i++) expect(rates[i]! / rates[i - 1]!, `step ${i}`).toBeCloseTo(ratio, 12);
  });

  it('smoothing is fastai’s bias-corrected moving average', () => {
    const s = new LossSmoother(0.98);
    // A constant loss stays itself from the first step: the (1 − βⁿ) correction removes the pull to 0.
    for (let i = 0; i < 5; i++) expect(s.add(2)).toBeCloseTo(2, 12);
    const t = new LossSmoother(0.5);
    t.add(1);
    // avg = 0.5·(0.5·1) + 0.5·3 = 1.75; ÷ (1 − 0.25) = 7/3
    expect(t.add(3)).toBeCloseTo(7 / 3, 12);
  });

  it('the stop rule fires past 4× the best and on a non-finite loss, not before', () => {
    expect(LR_FIND_DEFAULTS.stopFactor).toBe(4);
    expect(divergedLoss(3.99, 1)).toBe(false);
    expect(divergedLoss(4.01, 1)).toBe(true);
    expect(divergedLoss(Number.NaN, 1)).toBe(true);
    expect(divergedLoss(Infinity, 1)).toBe(true);
  });

  it('suggests the steepest point and the minimum ÷ 10 of a curve where both are known', () => {
    const steps = 101;
    const rates = Array.from({ length: steps }, (_, i) => rangeRate(1e-7, 10, steps, i));
    const u = rates.map((r) => Math.log(r));
    // Falls as −tanh around the midpoint of grid steps 40 and 41 (steepest there, symmetric), then
    // rises as a parabola from grid step 80 (the minimum on the grid).
    const u0 = (u[40]! + u[41]!) / 2;
    const u1 = u[80]!;
    const loss = u.map((v) => -Math.tanh(v - u0) + (v > u1 ? 5 * (v - u1) ** 2 : 0));
    const s = suggestRates(rates, loss);
    expect(s.steepest).toBe(rates[40]);
    expect(s.minimumOverTen).toBe(rates[80]! / 10);
    expect(s.suggested).toBe(s.steepest);
  });

  it('refuses ranges it cannot sweep, naming the value and the fix', () => {
    for (const [min, max, steps, says] of [
      [0, 1, 10, 'min 0'],
      [-1, 1, 10, 'min -1'],
      [1, Infinity, 10, 'max Infinity'],
      [1, 0.1, 10, 'min 1 is not below max 0.1'],
      [1e-3, 1e-3, 10, 'not below'],
      [1e-7, 10, 1, 'received 1'],
      [1e-7, 10, 2.5, 'received 2.5'],
    ] as const) {
      const e = thrown(() => checkLrRange(min, max, steps));
      expect(e.code).toBe('BAD_ARGUMENT');
      expect(e.message).toContain(says);
      expect(e.message).toContain('Pass 0 < min < max');
    }
  });
});

describe('lrFind', () => {
  for (const engine of ['tfjs', 'onnxruntime'] as const) {
    it.skipIf(engine === 'onnxruntime' && noOrt !== undefined)(`on ${engine}: records the exponential rates, stops early on divergence, leaves the source bit-identical`, async () => {
      const model = mlp();
      model.layers[1]!.trainable = false;
      const before = weightValues(model);
      const trainable = model.layers.map((l) => l.trainable);
      const tensors = liveTensors();
      const r = await lrFind(model, data, { min: 1e-4, max: 1e4, steps: 60, batchSize: 16, engine });
      expect(r.engine.engine).toBe(engine);
      // Step i ran at rangeRate(i): the rates are exactly the exponential ramp.
      r.rates.forEach((rate, i) => expect(rate, `step ${i}`).toBe(rangeRate(1e-4, 1e4, 60, i)));
      // Rates up to 1e4 blow SGD up: the test must end before its last step, at a smoothed loss past 4× its best.
      expect(r.stoppedEarly).toBe(true);
      expect(r.rates.length).toBeLessThan(60);
      const last = r.smoothed[r.smoothed.length - 1]!;
      const best = Math.min(...r.smoothed.slice(0, -1));
      expect(!Number.isFinite(last) || last > 4 * best).toBe(true);
      expect(r.suggestion.suggested).toBeGreaterThan(0);
      for (const [name, w] of weightValues(model)) expect(sameValues(w, before.get(name)!), name).toBe(true);
      expect(model.layers.map((l) => l.trainable)).toEqual(trainable);
      expect(liveTensors()).toBe(tensors);
      model.dispose();
    });

    it.skipIf(engine === 'onnxruntime' && noOrt !== undefined)(`on ${engine}: a low range runs every step without stopping`, async () => {
      const model = mlp();
      const r = await lrFind(model, data, { min: 1e-6, max: 1e-3, steps: 20, batchSize: 16, engine });
      expect(r.stoppedEarly).toBe(false);
      expect(r.rates.length).toBe(20);
      expect(r.losses.every(Number.isFinite)).toBe(true);
      model.dispose();
    });
  }

  it.skipIf(noOrt !== undefined)('both engines see the same losses at the same rates', async () => {
    const model = mlp();
    const a = await lrFind(model, data, { min: 1e-3, max: 1, steps: 25, batchSize: 16, engine: 'tfjs' });
    const b = await lrFind(model, data, { min: 1e-3, max: 1, steps: 25, batchSize: 16, engine: 'onnxruntime' });
    expect(b.rates).toEqual(a.rates);
    a.losses.forEach((l, i) => expect(Math.abs(b.losses[i]! - l) / l, `step ${i}`).toBeLessThan(1e-4));
    model.dispose();
  });
});
