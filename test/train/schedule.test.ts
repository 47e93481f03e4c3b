import { beforeAll, describe, expect, it } from 'vitest';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildMlp } from '../../src/models/mlp.js';
import { fit, type FitOptions } from '../../src/train/fit.js';
import type { FitCheckpoint } from '../../src/train/checkpoint.js';
import type { EpochRecord, FitResult } from '../../src/train/types.js';
import { describeOptimizer, resolveOptimizer } from '../../src/train/optimizer.js';
import { describeSchedule, parseSchedule, resolveSchedule, scheduledRate, SCHEDULE_FORMS } from '../../src/train/schedule.js';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { liveTensors, sameValues, syntheticDataset, thrown, useBackend, weightValues } from '../helpers.js';
import { fitWithStops, stopAfter } from './stops.js';

beforeAll(useBackend);

const ort = await loadOnnxRuntime();
const noOrt = typeof ort === 'string' ? ort : undefined;
if (noOrt) console.log(`schedule tests on onnxruntime skipped: ${noOrt}`);

const data = syntheticDataset(100, 4, 21);
const mlp = (): tfl.LayersModel => buildMlp({ classes: 4, inputShape: [8, 8], hidden: 12, dropout: 0.3, seed: 3 });
const timeless = (h: readonly EpochRecord[]): Array<Omit<EpochRecord, 'seconds'>> => h.map(({ seconds: _, ...rest }) => rest);


const withStops = (options: FitOptions, stops: number[]): ReturnType<typeof fitWithStops> => fitWithStops(mlp, data, options, stops);

const RUNS: Array<[string, FitOptions]> = [
  ['adamw + one-cycle', { epochs: 3, optimizer: { name: 'adamw', learningRate: 0.01, weightDecay: 0.05 }, schedule: 'one-cycle' }],
  ['rmsprop with momentum + cosine,warmup:1', { epochs: 3, optimizer: { name: 'rmsprop', learningRate: 0.005, momentum: 0.5 }, schedule: 'cosine,warmup:1' }],
  ['sgd momentum + L2 + step:1,0.5', { epochs: 3, optimizer: { name: 'sgd', learningRate: 0.05, momentum: 0.9, weightDecay: 0.001 }, schedule: 'step:1,0.5' }],
];

describe('schedules in fit', () => {
  for (const engine of ['tfjs', 'onnxruntime'] as const) {
    for (const [label, options] of RUNS) {
      it.skipIf(engine === 'onnxruntime' && noOrt !== undefined)(`${label} on ${engine}: resumed mid-phase equals uninterrupted bit for bit, and each epoch records its first step's rate`, async () => {
        const o: FitOptions = { ...options, batchSize: 16, seed: 7, engine };
        const before = liveTensors();
        const plain = await withStops(o, []);
        // Weight decay and rate changes leave no tensors behind.
        expect(liveTensors()).toBe(before);
        // 7 batches per epoch: stops inside epoch 2 (inside one-cycle's rise / after warm-up) and inside epoch 3.
        const resumed = await withStops(o, [9, 6]);
        expect(plain.result.engine?.engine).toBe(engine);
        for (const [name, v] of plain.weights) expect(sameValues(v, resumed.weights.get(name)!), `weight ${name}`).toBe(true);
        expect(timeless(resumed.result.history)).toEqual(timeless(plain.result.history));
        const s = resolveSchedule(options.schedule);
        const lr = resolveOptimizer(options.optimizer).learningRate;
        expect(plain.result.history.map((r) => r.learningRate)).toEqual([1, 2, 3].map((e) => scheduledRate(s, lr, e, 0, 3, 7)));
      });
    }
  }

  it('a schedule changes training: the same fit at a constant rate ends elsewhere', async () => {
    const [, options] = RUNS[0]!;
    const a = await withStops({ ...options, batchSize: 16, seed: 7 }, []);
    const b = await withStops({ ...options, schedule: 'constant', batchSize: 16, seed: 7 }, []);
    const name = [...a.weights.keys()][0]!;
    expect(sameValues(a.weights.get(name)!, b.weights.get(name)!)).toBe(false);
    expect(new Set(b.result.history.map((r) => r.learningRate))).toEqual(new Set([0.01]));
  });

  it('refuses a schedule that does not fit its phase, saying what it received', async () => {
    const model = mlp();
    await expect(fit(model, data, { epochs: 2, schedule: 'cosine,warmup:2' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/warm-up of 2 epochs.*2 epochs.*warmup:2/) });
    await expect(fit(model, data, { epochs: 2, optimizer: { learningRate: 0.01 }, schedule: 'cosine:0.05' })).rejects.toMatchObject({ message: expect.stringMatching(/floor 0.05 is not below the learning rate 0.01/) });
    model.dispose();
  });
});

describe('schedule specs', () => {
  it('reads the text forms', () => {
    expect(parseSchedule('step:3,0.5')).toEqual({ kind: 'step', every: 3, factor: 0.5 });
    expect(parseSchedule('cosine:1e-5,warmup:2')).toEqual({ kind: 'cosine', floor: 1e-5, warmup: 2 });
    expect(parseSchedule('warmup:1,step:2,0.1')).toEqual({ kind: 'step', every: 2, factor: 0.1, warmup: 1 });
    expect(parseSchedule('onecycle:0.25')).toEqual({ kind: 'one-cycle', pctStart: 0.25 });
    expect(parseSchedule('warmup:1')).toEqual({ warmup: 1 });
    for (const text of ['constant', 'step:3,0.5', 'cosine:0.001,warmup:2', 'one-cycle', 'one-cycle:0.4', 'cosine']) expect(describeSchedule(resolveSchedule(text))).toBe(text);
  });

  it('refuses bad specs with what it received and the accepted forms', () => {
    const cases: Array<[string, RegExp]> = [
      ['linear', /unknown item "linear"/],
      ['step:2', /step takes two values/],
      ['step:0,0.5', /EVERY must be a whole number/],
      ['step:2,1.5', /FACTOR must be in \(0, 1\]/],
      ['cosine:abc', /cosine floor is not a number/],
      ['cosine,step:1,0.5', /two schedules/],
      ['one-cycle,warmup:1', /one-cycle warms up by itself/],
      ['one-cycle:1', /pct_start must be in \(0, 1\)/],
      ['warmup:1.5', /warmup must be a whole number/],
      ['cosine,,warmup:1', /empty item/],
    ];
    for (const [text, why] of cases) {
      const e = thrown(() => resolveSchedule(text));
      expect(e.code, text).toBe('BAD_ARGUMENT');
      expect(e.message, text).toMatch(why);
      expect(e.message, text).toContain(`received ${JSON.stringify(text)}`);
      expect(e.message, text).toContain(SCHEDULE_FORMS);
    }
    expect(thrown(() => resolveSchedule({ kind: 'step', every: 2 })).message).toMatch(/step needs both EVERY \(epochs\) and FACTOR; received /);
  });
});

describe('optimizer specs', () => {
  it('fills in defaults: Keras RMSprop (rho 0.9, ε 1e-7), PyTorch AdamW decay 0.01, no decay elsewhere', () => {
    expect(resolveOptimizer({ name: 'rmsprop', learningRate: 0.001 })).toMatchObject({ rho: 0.9, epsilon: 1e-7, momentum: 0, weightDecay: 0 });
    expect(resolveOptimizer({ name: 'adamw', learningRate: 0.001 })).toMatchObject({ weightDecay: 0.01 });
    expect(resolveOptimizer({ name: 'adam', learningRate: 0.001 })).toMatchObject({ weightDecay: 0 });
    expect(resolveOptimizer({ name: 'adamw', weightDecay: undefined })).toMatchObject({ weightDecay: 0.01 });
  });

  it('describes what is set', () => {
    expect(describeOptimizer(resolveOptimizer({ name: 'sgd', learningRate: 0.01 }))).toBe('sgd(lr=0.01)');
    expect(describeOptimizer(resolveOptimizer({ name: 'adamw', learningRate: 0.001 }))).toBe('adamw(lr=0.001, weight_decay=0.01 decoupled)');
    expect(describeOptimizer(resolveOptimizer({ name: 'sgd', learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4 }))).toBe('sgd(lr=0.1, momentum=0.9, weight_decay=0.0001 L2)');
    expect(describeOptimizer(resolveOptimizer({ name: 'rmsprop', learningRate: 0.001, rho: 0.99 }))).toBe('rmsprop(lr=0.001, rho=0.99)');
  });

  it('refuses bad settings, saying what it received and what to do', () => {
    const cases: Array<[Parameters<typeof resolveOptimizer>[0], RegExp]> = [
      [{ name: 'adagrad' as 'sgd' }, /Unknown optimizer; received "adagrad". Choose one of sgd, adam, adamw, rmsprop/],
      [{ name: 'sgd', weightDecay: -0.1 }, /Weight decay must be in \[0, 1\); received -0.1/],
      [{ name: 'adam', momentum: 0.9 }, /Momentum applies to sgd and rmsprop, not adam; received 0.9/],
      [{ name: 'rmsprop', rho: 1 }, /rho must be in \(0, 1\); received 1/],
      [{ name: 'adam', epsilon: 0 }, /Epsilon must be in \(0, 1\); received 0/],
    ];
    for (const [spec, why] of cases) {
      const e = thrown(() => resolveOptimizer(spec));
      expect(e.code).toBe('BAD_ARGUMENT');
      expect(e.message).toMatch(why);
    }
  });
});
