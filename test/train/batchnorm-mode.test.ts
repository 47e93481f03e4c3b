import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { GraftError } from '../../src/errors.js';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { loadOnnxSource } from '../../src/io/onnx/source.js';
import { OnnxBlock } from '../../src/models/onnx-block/layer.js';
import { fit, type FitOptions } from '../../src/train/fit.js';
import type { BatchNormMode } from '../../src/train/batchnorm-mode.js';
import { transfer } from '../../src/transfer/transfer.js';
import { sameValues, useBackend, weightValues } from '../helpers.js';
import { expectSameTraining, images, trainOnBoth } from './engine-agreement.js';

beforeAll(useBackend);

/**
 * FitOptions.batchNorm 'frozen': every BatchNorm — Keras layers and the BatchNormalization nodes of
 * an imported ONNX block — runs on its moving statistics while its layer trains, so the statistics
 * stay bit for bit as they were while γ/β (scale/B) train; the same on TF.js and onnxruntime.
 */
const ort = await loadOnnxRuntime();
const missing = typeof ort === 'string' ? ort : undefined;

let seedCounter = 700;
const init = (): ReturnType<typeof tfl.initializers.glorotUniform> => tfl.initializers.glorotUniform({ seed: seedCounter++ });
/** Non-trivial γ, β and moving variance, so each matters. */
const bnLayer = (name: string): tfl.layers.Layer =>
  tfl.layers.batchNormalization({
    name,
    momentum: 0.9,
    gammaInitializer: tfl.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: seedCounter++ }),
    betaInitializer: tfl.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: seedCounter++ }),
    movingVarianceInitializer: tfl.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: seedCounter++ }),
  });

/** conv → BN → relu → conv → BN → GAP → Dense softmax, the same weights every call. */
function smallCnn(): tfl.LayersModel {
  seedCounter = 700;
  const m = tfl.sequential({ name: 'bn_cnn' });
  m.add(tfl.layers.inputLayer({ inputShape: [6, 6, 2] }));
  m.add(tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'c1', kernelInitializer: init() }));
  m.add(bnLayer('bn1'));
  m.add(tfl.layers.activation({ activation: 'relu' }));
  m.add(tfl.layers.conv2d({ filters: 4, kernelSize: 3, useBias: false, name: 'c2', kernelInitializer: init() }));
  m.add(bnLayer('bn2'));
  m.add(tfl.layers.globalAveragePooling2d({}));
  m.add(tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out', kernelInitializer: init() }));
  return m;
}

const STATS = ['bn1/moving_mean', 'bn1/moving_variance', 'bn2/moving_mean', 'bn2/moving_variance'];
const AFFINE = ['bn1/gamma', 'bn1/beta', 'bn2/gamma', 'bn2/beta'];
const OPTIONS: FitOptions = { epochs: 2, batchSize: 16, seed: 5, optimizer: { name: 'sgd', learningRate: 0.05 } };

describe.skipIf(missing !== undefined)('batchNorm "frozen" on a small CNN', () => {
  it('both engines train γ/β alike and leave the moving statistics bit for bit', async () => {
    const data = images(48, [6, 6, 2], 3, 21);
    const start = weightValues(smallCnn());
    const r = await trainOnBoth(smallCnn, data, { ...OPTIONS, batchNorm: 'frozen' });
    expectSameTraining(r, 'batchNorm frozen', { weightTolerance: 1e-4 });
    for (const [engine, w] of [['tfjs', r.wa], ['onnxruntime', r.wb]] as const) {
      for (const name of STATS) expect(sameValues(w.get(name)!, start.get(name)!), `${engine}: ${name} kept`).toBe(true);
      for (const name of AFFINE) expect(sameValues(w.get(name)!, start.get(name)!), `${engine}: ${name} trained`).toBe(false);
    }
  });

  it('from scratch (fit), "train" and "auto" (train there) move the statistics; "frozen" trains to other weights', async () => {
    const data = images(48, [6, 6, 2], 3, 21);
    const start = weightValues(smallCnn());
    const run = async (batchNorm: BatchNormMode | undefined, engine: 'tfjs' | 'onnxruntime'): Promise<Map<string, Float32Array>> => {
      const m = smallCnn();
      await fit(m, data, { ...OPTIONS, engine, ...(batchNorm !== undefined && { batchNorm }) });
      const w = weightValues(m);
      m.dispose();
      return w;
    };
    for (const engine of ['tfjs', 'onnxruntime'] as const) {
      const trained = await run('train', engine);
      const auto = await run('auto', engine);
      const plain = await run(undefined, engine);
      const frozen = await run('frozen', engine);
      for (const name of STATS) expect(sameValues(trained.get(name)!, start.get(name)!), `${engine}: ${name} moved`).toBe(false);
      for (const [name, v] of trained) {
        expect(sameValues(auto.get(name)!, v), `${engine}: auto = train at ${name}`).toBe(true);
        expect(sameValues(plain.get(name)!, v), `${engine}: the default = train at ${name}`).toBe(true);
      }
      expect(sameValues(frozen.get('c1/kernel')!, trained.get('c1/kernel')!), `${engine}: the mode changes training`).toBe(false);
    }
  });
});

describe('batchNorm option checks', () => {
  it('refuses a value that is not a mode, naming it and the choices', async () => {
    const m = smallCnn();
    const data = images(8, [6, 6, 2], 3, 1);
    const err = await fit(m, data, { ...OPTIONS, batchNorm: 'inference' as BatchNormMode }).catch((e: unknown) => e);
    m.dispose();
    expect(err).toBeInstanceOf(GraftError);
    expect((err as GraftError).code).toBe('BAD_ARGUMENT');
    expect((err as Error).message).toMatch(/"inference"/);
    expect((err as Error).message).toMatch(/train, frozen, auto/);
  });
});

const FILE = path.resolve(__dirname, '../../fixtures/onnx/convnet.torchscript-op17.keep-bn.onnx');

function noise(n: number): ReturnType<typeof images> {
  return { ...images(n, [16, 16, 3], 3, 9), pixelRange: 'unit', x: Float32Array.from({ length: n * 16 * 16 * 3 }, (_, i) => ((i * 7919) % 1000) / 1000) };
}

/** The ONNX source's block weights (by ONNX name) before and after a fit, and its BatchNorm nodes' inputs. */
async function trainedOnnx(engine: 'onnxruntime' | 'tfjs', batchNorm: BatchNormMode): Promise<{ start: Map<string, Float32Array>; end: Map<string, Float32Array>; stats: string[]; affine: string[]; engine: string | undefined }> {
  const source = await loadOnnxSource(FILE, { preprocess: 'scale' });
  const t = await transfer(source.model, { cut: -1, head: { classes: 3 }, freeze: 'none', seed: 1 });
  const blocks = t.model.layers.filter((l): l is OnnxBlock => l instanceof OnnxBlock);
  const snapshot = (): Map<string, Float32Array> => {
    const m = new Map<string, Float32Array>();
    for (const b of blocks) b.spec.weights.forEach((w, i) => m.set(w.name, b.variable(i).read().dataSync().slice() as Float32Array));
    return m;
  };
  const bnNodes = blocks.flatMap((b) => b.nodes.filter((n) => n.op === 'BatchNormalization'));
  const start = snapshot();
  const r = await fit(t.model, noise(48), { epochs: 2, batchSize: 16, optimizer: { name: 'sgd', learningRate: 0.05 }, engine, seed: 3, batchNorm });
  const end = snapshot();
  t.model.dispose();
  source.model.dispose();
  return { start, end, stats: bnNodes.flatMap((n) => [n.inputs[3]!, n.inputs[4]!]), affine: bnNodes.flatMap((n) => [n.inputs[1]!, n.inputs[2]!]), engine: r.engine?.engine };
}

describe.skipIf(missing !== undefined)('batchNorm "frozen" in an imported ONNX source', () => {
  it('keeps the BatchNorm nodes on their running statistics on both engines, scale/B training alike', async () => {
    const ortRun = await trainedOnnx('onnxruntime', 'frozen');
    const tfjsRun = await trainedOnnx('tfjs', 'frozen');
    expect(ortRun.engine).toBe('onnxruntime');
    expect(tfjsRun.engine).toBe('tfjs');
    expect(ortRun.stats.length).toBeGreaterThan(4);
    for (const r of [ortRun, tfjsRun]) {
      for (const name of r.stats) expect(sameValues(r.end.get(name)!, r.start.get(name)!), `${r.engine}: ${name} kept`).toBe(true);
      for (const name of r.affine) expect(sameValues(r.end.get(name)!, r.start.get(name)!), `${r.engine}: ${name} trained`).toBe(false);
    }
    for (const [name, a] of ortRun.end) {
      const b = tfjsRun.end.get(name)!;
      let scale = 1e-3;
      let worst = 0;
      a.forEach((v, i) => {
        scale = Math.max(scale, Math.abs(v));
        worst = Math.max(worst, Math.abs(v - b[i]!));
      });
      expect(worst / scale, `${name}: engines differ by ${worst} (largest ${scale})`).toBeLessThan(1e-4);
    }
    expect(tf.memory().numTensors).toBeLessThan(400);
  }, 60_000);
});
