import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { fit } from '../../src/train/fit.js';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import type { OptimizerSpec } from '../../src/train/optimizer.js';
import { useBackend } from '../helpers.js';
import { expectSameTraining, images, trainOnBoth } from './engine-agreement.js';

beforeAll(useBackend);

/**
 * Models the per-layer chain never trained on onnxruntime — merges (Concatenate, Add of two
 * branches, Multiply), a layer applied twice, overlapping max pooling, a depth multiplier — train
 * through the training compiler (GraphStepper) exactly as on TF.js: epoch losses within 1e-4
 * relative, final weights within 1e-4 of each weight's largest value (as the CNN agreement tests).
 */
const ort = await loadOnnxRuntime();
const missing = typeof ort === 'string' ? ort : undefined;
if (missing) console.log(`training compiler tests skipped: ${missing}`);


let seed = 200;
const init = (): ReturnType<typeof tfl.initializers.glorotUniform> => tfl.initializers.glorotUniform({ seed: seed++ });
const conv = (name: string, filters: number, extra: Record<string, unknown> = {}): tfl.layers.Layer =>
  tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', name, kernelInitializer: init(), biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed++ }), ...extra });
const head = (t: tfl.SymbolicTensor, classes: number): tfl.SymbolicTensor =>
  tfl.layers.dense({ units: classes, activation: 'softmax', name: 'out', kernelInitializer: init() }).apply(tfl.layers.flatten().apply(t)) as tfl.SymbolicTensor;
const on = (layer: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]): tfl.SymbolicTensor => layer.apply(x) as tfl.SymbolicTensor;

interface Case {
  name: string;
  input: number[];
  build: (x: tfl.SymbolicTensor) => tfl.SymbolicTensor;
}

const CASES: Case[] = [
  { name: 'Concatenate of two conv branches (channels)', input: [6, 6, 2], build: (x) => head(on(tfl.layers.concatenate({ name: 'cat' }), [on(conv('a', 3, { activation: 'relu' }), x), on(conv('b', 2, { activation: 'tanh' }), x)]), 3) },
  { name: 'Add of two conv branches, then Multiply by a sigmoid gate', input: [6, 6, 2], build: (x) => {
    const sum = on(tfl.layers.add({ name: 'sum' }), [on(conv('a', 3), x), on(conv('b', 3, { activation: 'relu' }), x)]);
    const gate = on(conv('gate', 3, { activation: 'sigmoid' }), x);
    return head(on(tfl.layers.multiply({ name: 'gated' }), [sum, gate]), 3);
  } },
  { name: 'overlapping MaxPooling2D (3×3, stride 2, same) after a conv', input: [7, 7, 2], build: (x) => head(on(tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), on(conv('a', 3, { activation: 'relu' }), x)), 3) },
  { name: 'a conv layer applied twice (shared weights) and a Dense applied twice', input: [6, 6, 3], build: (x) => {
    const shared = conv('shared', 3, { activation: 'tanh' });
    const twice = on(shared, on(shared, x));
    const dense = tfl.layers.dense({ units: 8, activation: 'relu', name: 'dense_shared', kernelInitializer: init() });
    const flat = on(tfl.layers.flatten(), twice);
    const v = on(tfl.layers.dense({ units: 8, name: 'to8', kernelInitializer: init() }), flat);
    return tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out', kernelInitializer: init() }).apply(on(dense, on(dense, v))) as tfl.SymbolicTensor;
  } },
  { name: 'SeparableConv2D (depth multiplier 2, stride 2, same) after BatchNorm', input: [7, 7, 2], build: (x) => head(on(tfl.layers.separableConv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, activation: 'relu', name: 'sep', depthwiseInitializer: init(), pointwiseInitializer: init() }), on(tfl.layers.batchNormalization({ name: 'bn' }), x)), 3) },
  { name: 'DepthwiseConv2D with depth multiplier 2', input: [6, 6, 2], build: (x) => head(on(tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, activation: 'relu', name: 'dm', depthwiseInitializer: init() }), x), 3) },
];

const SGD: OptimizerSpec = { name: 'sgd', learningRate: 0.05, momentum: 0.9 };
const ADAM: OptimizerSpec = { name: 'adam', learningRate: 0.01 };

describe.skipIf(missing !== undefined)('the training compiler trains what the chain could not, as TF.js does', () => {
  for (const c of CASES) {
    for (const optimizer of [SGD, ADAM]) {
      it(`${c.name}, ${optimizer.name}`, async () => {
        const make = (): tfl.LayersModel => {
          seed = 200;
          const x = tfl.input({ shape: c.input });
          return tfl.model({ inputs: x, outputs: c.build(x), name: 'm' });
        };
        const r = await trainOnBoth(make, images(48, c.input, 3, 5), { epochs: 3, batchSize: 16, seed: 4, optimizer });
        expectSameTraining(r, `${c.name}/${optimizer.name}`, { weightTolerance: 1e-4 });
      });
    }
  }

  it('falls back to TF.js, saying why, where it cannot train the model the same way; onnxruntime refuses', async () => {
    const data = images(32, [6, 6, 2], 3, 14);
    const x = tfl.input({ shape: [6, 6, 2] });
    const noisy = tfl.model({ inputs: x, outputs: head(on(tfl.layers.gaussianNoise({ stddev: 0.1, name: 'noise' }), x), 3), name: 'noisy' });
    expect((await fit(noisy, data, { epochs: 1, engine: 'auto' })).engine).toMatchObject({ engine: 'tfjs', reason: expect.stringMatching(/noise \(GaussianNoise\): GaussianNoise in training mode/) });
    const y = tfl.input({ shape: [6, 6, 2] });
    const pooled = tfl.model({ inputs: y, outputs: head(on(tfl.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'avg' }), y), 3), name: 'pooled' });
    expect((await fit(pooled, data, { epochs: 1, engine: 'auto' })).engine).toMatchObject({ engine: 'tfjs', reason: expect.stringMatching(/avg \(AveragePooling2D\): 'same' padding in training/) });
    const z = tfl.input({ shape: [6, 6, 2] });
    const maxed = tfl.model({ inputs: z, outputs: head(on(tfl.layers.maximum({ name: 'max' }), [on(conv('a', 2), z), z]), 3), name: 'maxed' });
    expect((await fit(maxed, data, { epochs: 1, engine: 'auto' })).engine).toMatchObject({ engine: 'tfjs', reason: expect.stringMatching(/no gradient for the Max node/) });
    await expect(fit(pooled, data, { epochs: 1, engine: 'onnxruntime' })).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: expect.stringMatching(/cannot train pooled.*--engine tfjs/) });
  });
});
