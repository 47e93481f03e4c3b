import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { describeOutput } from '../../src/train/loss.js';
import { resolveOptimizer, type OptimizerSpec } from '../../src/train/optimizer.js';
import { chooseStepper } from '../../src/train/onnx/select.js';
import { resolveSchedule, scheduledRate } from '../../src/train/schedule.js';
import { useBackend } from '../helpers.js';

/**
 * graft's optimizers and schedules against PyTorch (and Keras 3 for RMSprop): torch_optimizers.py
 * prints the reference; both engines must give its weights after five steps to 1e-5 relative.
 */
beforeAll(useBackend);

const PYTHON = process.env.GRAFT_KERAS_PYTHON ?? '/tmp/peers/bin/python';
const ort = await loadOnnxRuntime();
const noOrt = typeof ort === 'string' ? ort : undefined;

interface Reference {
  problem: { w1: number[][]; b1: number[]; w2: number[][]; b2: number[]; x: number[][]; y: number[]; steps: number };
  cases: Record<string, { rates: number[]; weights: unknown[] }>;
  schedules: Record<string, [number, number, number, number[]]>;
}

function loadReference(): Reference | string {
  if (!existsSync(PYTHON)) return `no Python at ${PYTHON} (set GRAFT_KERAS_PYTHON to a Python with torch and Keras 3)`;
  const run = spawnSync(PYTHON, [path.resolve(__dirname, 'torch_optimizers.py')], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, KERAS_BACKEND: 'torch' } });
  if (run.status !== 0) return `${PYTHON} could not run torch_optimizers.py: ${(run.stderr || String(run.error)).trim().split('\n').pop()}`;
  return JSON.parse(run.stdout) as Reference;
}

const reference = loadReference();
const noReference = typeof reference === 'string' ? reference : undefined;
if (noReference) console.log(`optimizer reference tests skipped: ${noReference}`);
const ref = (): Reference => reference as Reference;

/** graft's form of each case in torch_optimizers.py: optimizer, schedule and its phase shape (epochs × batches = 5 steps). */
const CASES: Record<string, { optimizer: OptimizerSpec; schedule: string; epochs: number; batches: number; scales?: [number, number] }> = {
  'sgd-momentum-l2': { optimizer: { name: 'sgd', learningRate: 0.1, momentum: 0.9, weightDecay: 0.01 }, schedule: 'constant', epochs: 1, batches: 5, scales: [0.5, 1] },
  'adam-l2-step': { optimizer: { name: 'adam', learningRate: 0.02, weightDecay: 0.05 }, schedule: 'step:2,0.5', epochs: 5, batches: 1 },
  'adamw-one-cycle': { optimizer: { name: 'adamw', learningRate: 0.02, weightDecay: 0.1 }, schedule: 'one-cycle', epochs: 1, batches: 5, scales: [0.25, 1] },
  'rmsprop-momentum-decay-cosine-warmup': { optimizer: { name: 'rmsprop', learningRate: 0.01, momentum: 0.5, weightDecay: 0.05 }, schedule: 'cosine:0.001,warmup:2', epochs: 5, batches: 1 },
};

function caseRates(c: (typeof CASES)[string]): number[] {
  const s = resolveSchedule(c.schedule);
  const lr = resolveOptimizer(c.optimizer).learningRate;
  const out: number[] = [];
  for (let e = 1; e <= c.epochs; e++) for (let b = 0; b < c.batches; b++) out.push(scheduledRate(s, lr, e, b, c.epochs, c.batches));
  return out;
}

async function trainCase(name: string, engine: 'tfjs' | 'onnxruntime'): Promise<Float32Array[]> {
  const c = CASES[name]!;
  const p = ref().problem;
  const model = tfl.sequential({
    layers: [tfl.layers.dense({ units: 5, activation: 'relu', inputShape: [4], name: 'hidden' }), tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out' })],
  });
  const init = [tf.tensor2d(p.w1), tf.tensor1d(p.b1), tf.tensor2d(p.w2), tf.tensor1d(p.b2)];
  model.setWeights(init);
  tf.dispose(init);
  const scales = c.scales;
  const scale = scales ? (l: tfl.layers.Layer): number => (l.name === 'hidden' ? scales[0] : scales[1]) : undefined;
  const stepper = await chooseStepper(model, describeOutput(model), resolveOptimizer(c.optimizer), scale, 4, engine);
  expect(stepper.use.engine).toBe(engine);
  await stepper.refresh();
  stepper.beginEpoch(0, 0);
  const x = Float32Array.from(p.x.flat());
  const y = Float32Array.from(p.y);
  for (const rate of caseRates(c)) {
    stepper.setLearningRate(rate);
    await stepper.step(x, y, p.y.length, [4]);
  }
  await stepper.flush();
  stepper.syncModel();
  stepper.dispose();
  const out = model.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
  model.dispose();
  return out;
}

/**
 * max |a − b| over max |b|, over all the weights. (Per tensor, Adam's small first-layer biases differ
 * from torch by up to 1.4e-5 of their own size: TF.js and Keras take Adam's bias corrections
 * 1 − β^t from float32 powers, torch from float64 ones.)
 */
function relativeError(got: readonly Float32Array[], want: readonly number[][]): number {
  let diff = 0;
  let scale = 0;
  want.forEach((ws, t) =>
    ws.forEach((w, i) => {
      diff = Math.max(diff, Math.abs(got[t]![i]! - w));
      scale = Math.max(scale, Math.abs(w));
    }),
  );
  return diff / scale;
}

describe.skipIf(noReference !== undefined)('optimizers and schedules against PyTorch / Keras', () => {
  for (const name of Object.keys(CASES)) {
    it(`${name}: graft's rates are the torch schedulers'`, () => {
      const want = ref().cases[name]!.rates;
      const got = caseRates(CASES[name]!);
      expect(got).toHaveLength(want.length);
      got.forEach((r, i) => expect(Math.abs(r - want[i]!)).toBeLessThanOrEqual(1e-9 * want[i]! + 1e-12));
    });
    for (const engine of ['tfjs', 'onnxruntime'] as const) {
      it.skipIf(engine === 'onnxruntime' && noOrt !== undefined)(`${name}: ${engine} weights after 5 steps match to 1e-5 relative`, async () => {
        const got = await trainCase(name, engine);
        const want = ref().cases[name]!.weights.map((w) => (w as number[] | number[][]).flat());
        expect(got).toHaveLength(4);
        const err = relativeError(got, want);
        console.log(`${name} on ${engine}: max |graft − reference| / max |weight| = ${err.toExponential(2)}`);
        expect(err).toBeLessThanOrEqual(1e-5);
      });
    }
  }

  it('each schedule gives torch.optim.lr_scheduler\'s rate at every step', () => {
    for (const [spec, [base, epochs, batches, want]] of Object.entries(ref().schedules)) {
      const s = resolveSchedule(spec);
      const got: number[] = [];
      for (let e = 1; e <= epochs; e++) for (let b = 0; b < batches; b++) got.push(scheduledRate(s, base, e, b, epochs, batches));
      expect(got.length, spec).toBe(want.length);
      got.forEach((r, i) => expect(Math.abs(r - want[i]!), `${spec} step ${i}: ${r} vs ${want[i]}`).toBeLessThanOrEqual(1e-9 * base));
    }
  });
});
