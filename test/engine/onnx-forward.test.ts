import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../src/engine/rng.js';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { FORWARD_ACTIVATIONS } from '../../src/engine/onnx/forward/activation.js';
import { buildForwardGraph } from '../../src/engine/onnx/forward/forward-graph.js';
import { OnnxForward } from '../../src/engine/onnx/forward/forward-session.js';
import { forward } from '../../src/train/forward.js';
import { buildMobileNetV2 } from '../../src/models/mobilenetv2.js';
import { buildVgg16 } from '../../src/models/vgg16.js';
import { applyPreprocess } from '../../src/models/preprocess.js';
import { loadTfjsModel } from '../../src/io/tfjs-format.js';
import { disposeModel } from '../../src/models/dispose.js';
import { useBackend } from '../helpers.js';

beforeAll(useBackend);

/**
 * The ONNX translation of a TF.js model's inference pass must compute what TF.js computes:
 * outputs within 1e-4 of the largest |output|, for every translated layer and setting, with
 * random weights (BatchNorm moving statistics included).
 */
const ort = await loadOnnxRuntime();
const missing = typeof ort === 'string' ? ort : undefined;
if (missing) console.log(`onnxruntime forward tests skipped: ${missing}`);

const TEACHABLE = path.resolve(__dirname, '../../../shared/fixtures/teachable-machine/model.json');
if (!existsSync(TEACHABLE)) console.log(`Teachable Machine forward test skipped: ${TEACHABLE} is absent (../shared is not beside this clone)`);

/** Every weight redrawn: kernels scaled by fan-in, variances and gammas positive, the rest in ±0.5. */
function randomize(model: tfl.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  for (const w of model.weights) {
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const name = w.originalName;
    const data = new Float32Array(n);
    const fanIn = shape.length > 1 ? n / shape[shape.length - 1]! : 1;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      if (/moving_variance$/.test(name)) data[i] = 0.3 + u;
      else if (/gamma$/.test(name)) data[i] = 0.5 + u;
      else if (shape.length > 1) data[i] = (2 * u - 1) * Math.sqrt(3 / (/depthwise/.test(name) ? shape[0]! * shape[1]! : fanIn));
      else data[i] = u - 0.5;
    }
    w.write(tf.tensor(data, shape));
  }
}

function randomInput(n: number, shape: readonly number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * shape.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1);
}

/** Worst |onnx − tfjs| relative to max |tfjs|, after checking the shapes agree. */
async function worstError(model: tfl.LayersModel, n = 3, seed = 1): Promise<number> {
  const inShape = model.inputs[0]!.shape.slice(1) as number[];
  const x = randomInput(n, inShape, seed);
  const f = await OnnxForward.create(ort as Exclude<typeof ort, string>, model);
  if (typeof f === 'string') throw new Error(`not translated: ${f}`);
  try {
    const got = await f.run(x, n, 2); // batch 2: a full and a partial batch
    const ref = tf.tidy(() => forward(model, tf.tensor(x, [n, ...inShape]), false));
    expect(f.outputShape).toEqual(ref.shape.slice(1));
    const want = ref.dataSync() as Float32Array;
    ref.dispose();
    expect(got.length).toBe(want.length);
    let scale = 0;
    let worst = 0;
    for (let i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i]!));
      worst = Math.max(worst, Math.abs(want[i]! - got[i]!));
    }
    expect(scale, 'reference output is all zeros: the test proves nothing').toBeGreaterThan(0);
    return worst / scale;
  } finally {
    await f.release();
  }
}

async function expectAgrees(model: tfl.LayersModel, what: string, seed = 7, n = 3): Promise<void> {
  randomize(model, seed);
  expect(await worstError(model, n), what).toBeLessThan(1e-4);
  disposeModel(model);
}

/** A model of `layers` applied in order to one input. */
function chain(inputShape: number[], ...layers: tfl.layers.Layer[]): tfl.LayersModel {
  const input = tfl.input({ shape: inputShape });
  let x: tfl.SymbolicTensor = input;
  for (const l of layers) x = l.apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: x });
}

describe.skipIf(missing !== undefined)('ONNX forward graph agrees with TF.js', () => {
  describe('Conv2D', () => {
    for (const size of [7, 8]) {
      for (const [kernel, strides] of [[1, 1], [3, 1], [3, 2], [5, 2], [2, 2], [[3, 2], [2, 1]]] as const) {
        for (const padding of ['same', 'valid'] as const) {
          it(`${size}×${size}, kernel ${String(kernel)}, strides ${String(strides)}, ${padding}`, async () => {
            await expectAgrees(chain([size, size, 3], tfl.layers.conv2d({ filters: 4, kernelSize: kernel as number, strides: strides as number, padding })), `${size} ${kernel} ${strides} ${padding}`);
          });
        }
      }
    }
    it('dilation 2, same and valid; no bias; activations', async () => {
      await expectAgrees(chain([9, 8, 2], tfl.layers.conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'relu' })), 'dilated same');
      await expectAgrees(chain([9, 8, 2], tfl.layers.conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'valid', useBias: false, activation: 'tanh' })), 'dilated valid');
    });
  });

  describe('DepthwiseConv2D and SeparableConv2D', () => {
    for (const size of [7, 8]) {
      for (const strides of [1, 2]) {
        for (const padding of ['same', 'valid'] as const) {
          for (const depthMultiplier of [1, 2]) {
            it(`depthwise ${size}×${size}, stride ${strides}, ${padding}, multiplier ${depthMultiplier}`, async () => {
              await expectAgrees(chain([size, size, 3], tfl.layers.depthwiseConv2d({ kernelSize: 3, strides, padding, depthMultiplier, activation: 'relu6' })), 'depthwise');
            });
          }
        }
      }
    }
    it('separable, stride 2, same, multiplier 2', async () => {
      await expectAgrees(chain([9, 9, 3], tfl.layers.separableConv2d({ filters: 5, kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, activation: 'elu' })), 'separable');
    });
  });

  it('BatchNormalization on images and vectors, with and without center/scale', async () => {
    await expectAgrees(chain([6, 5, 4], tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }), tfl.layers.batchNormalization({ epsilon: 1e-3 })), 'conv + bn');
    await expectAgrees(chain([6, 5, 4], tfl.layers.batchNormalization({ center: false, scale: false, epsilon: 0.1 })), 'bn without gamma/beta');
    await expectAgrees(chain([7], tfl.layers.dense({ units: 5 }), tfl.layers.batchNormalization({})), 'dense + bn');
  });

  it('Dense on vectors and on images (per pixel), with every activation string', async () => {
    for (const activation of FORWARD_ACTIVATIONS) {
      await expectAgrees(chain([6], tfl.layers.dense({ units: 4, activation: activation as 'relu' })), `dense ${activation}`);
      await expectAgrees(chain([3, 4, 5], tfl.layers.dense({ units: 3, activation: activation as 'relu' })), `dense on image ${activation}`);
      await expectAgrees(chain([5, 5, 2], tfl.layers.conv2d({ filters: 3, kernelSize: 3, activation: activation as 'relu' })), `conv ${activation}`);
    }
  });

  it('activation layers: ReLU (plain, maxValue 6), LeakyReLU, ELU, Softmax (default axis, −1), Activation', async () => {
    await expectAgrees(chain([4, 4, 3], tfl.layers.reLU({})), 'relu');
    await expectAgrees(chain([4, 4, 3], tfl.layers.conv2d({ filters: 3, kernelSize: 1 }), tfl.layers.reLU({ maxValue: 6 })), 'relu6');
    await expectAgrees(chain([4, 4, 3], tfl.layers.leakyReLU({ alpha: 0.2 })), 'leaky');
    await expectAgrees(chain([4, 4, 3], tfl.layers.elu({})), 'elu');
    // TF.js's Softmax layer defaults to axis 1 and refuses a non-last axis at run time: vectors only.
    await expectAgrees(chain([5], tfl.layers.softmax({})), 'softmax default axis');
    await expectAgrees(chain([4, 5, 3], tfl.layers.softmax({ axis: -1 })), 'softmax axis -1');
    await expectAgrees(chain([4, 5, 3], tfl.layers.activation({ activation: 'sigmoid' })), 'activation');
  });

  it('ZeroPadding2D (asymmetric, as MobileNetV2 uses it)', async () => {
    await expectAgrees(chain([5, 6, 2], tfl.layers.zeroPadding2d({ padding: [[0, 1], [2, 1]] }), tfl.layers.conv2d({ filters: 2, kernelSize: 3, strides: 2 })), 'zero padding');
    await expectAgrees(chain([5, 6, 2], tfl.layers.zeroPadding2d({ padding: 1 })), 'zero padding 1');
  });

  describe('pooling', () => {
    for (const size of [7, 8]) {
      for (const [pool, strides] of [[2, 2], [3, 2], [3, 1], [2, 1]] as const) {
        for (const padding of ['same', 'valid'] as const) {
          it(`max and average, ${size}×${size}, pool ${pool}, stride ${strides}, ${padding}`, async () => {
            await expectAgrees(chain([size, size, 3], tfl.layers.maxPooling2d({ poolSize: pool, strides, padding })), 'max');
            await expectAgrees(chain([size, size, 3], tfl.layers.averagePooling2d({ poolSize: pool, strides, padding })), 'average');
          });
        }
      }
    }
    it('global average and max', async () => {
      await expectAgrees(chain([5, 4, 3], tfl.layers.globalAveragePooling2d({})), 'gap');
      await expectAgrees(chain([5, 4, 3], tfl.layers.globalMaxPooling2d({})), 'gmp');
    });
  });

  it('Flatten keeps TF.js order (NHWC rows), also of a single pixel; Dropout and Rescaling', async () => {
    await expectAgrees(chain([3, 4, 5], tfl.layers.flatten({}), tfl.layers.dropout({ rate: 0.5 }), tfl.layers.dense({ units: 4 })), 'flatten then dense');
    await expectAgrees(chain([3, 4, 5], tfl.layers.conv2d({ filters: 2, kernelSize: 1 }), tfl.layers.flatten({})), 'flatten output');
    await expectAgrees(chain([4, 4, 3], tfl.layers.conv2d({ filters: 6, kernelSize: 4 }), tfl.layers.flatten({})), 'flatten one pixel');
    await expectAgrees(chain([4, 4, 3], tfl.layers.rescaling({ scale: 2, offset: -1 }), tfl.layers.conv2d({ filters: 2, kernelSize: 1 })), 'rescaling');
  });

  it('merges: Add, Multiply, Average, Maximum, Minimum, Concatenate', async () => {
    const merged = (make: () => tfl.layers.Layer, inputs: number, shape = [5, 4, 3]): tfl.LayersModel => {
      const input = tfl.input({ shape });
      const branches = Array.from({ length: inputs }, () => tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(input) as tfl.SymbolicTensor);
      return tfl.model({ inputs: input, outputs: make().apply(branches) as tfl.SymbolicTensor });
    };
    await expectAgrees(merged(() => tfl.layers.add({}), 3), 'add');
    await expectAgrees(merged(() => tfl.layers.multiply({}), 2), 'multiply');
    await expectAgrees(merged(() => tfl.layers.average({}), 3), 'average');
    await expectAgrees(merged(() => tfl.layers.maximum({}), 2), 'maximum');
    await expectAgrees(merged(() => tfl.layers.minimum({}), 2), 'minimum');
    await expectAgrees(merged(() => tfl.layers.concatenate({}), 2), 'concatenate channels');
    await expectAgrees(merged(() => tfl.layers.concatenate({ axis: 1 }), 2), 'concatenate rows');
  });

  it("graft's preprocessing layers (caffe: a frozen 1×1 conv; tf: Rescaling) keep their exact weights", async () => {
    for (const kind of ['caffe', 'tf'] as const) {
      const input = tfl.input({ shape: [6, 6, 3] });
      const model = tfl.model({ inputs: input, outputs: applyPreprocess(kind, input) });
      const x = Float32Array.from({ length: 2 * 108 }, (_, i) => (i % 17) / 16);
      const f = (await OnnxForward.create(ort as Exclude<typeof ort, string>, model)) as OnnxForward;
      const got = await f.run(x, 2, 2);
      const want = tf.tidy(() => forward(model, tf.tensor(x, [2, 6, 6, 3]), false).dataSync());
      got.forEach((v, i) => expect(Math.abs(v - want[i]!), kind).toBeLessThan(1e-4));
      await f.release();
      disposeModel(model);
    }
  });

  it('nested models are flattened (a Sequential inside a functional model inside another)', async () => {
    const inner = tfl.sequential({ layers: [tfl.layers.conv2d({ inputShape: [6, 6, 3], filters: 4, kernelSize: 3, padding: 'same' }), tfl.layers.batchNormalization({}), tfl.layers.reLU({ maxValue: 6 })] });
    const midIn = tfl.input({ shape: [6, 6, 3] });
    const mid = tfl.model({ inputs: midIn, outputs: tfl.layers.globalAveragePooling2d({}).apply(inner.apply(midIn) as tfl.SymbolicTensor) as tfl.SymbolicTensor });
    const input = tfl.input({ shape: [6, 6, 3] });
    const out = tfl.layers.dense({ units: 2, activation: 'softmax' }).apply(mid.apply(input) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
    await expectAgrees(tfl.model({ inputs: input, outputs: out }), 'nested');
  });

  it('MobileNetV2 α 0.35 at 64×64 with random weights and BatchNorm statistics', async () => {
    await expectAgrees(buildMobileNetV2({ alpha: 0.35, inputShape: [64, 64, 3] }), 'mobilenetv2', 11, 4);
  });

  it('VGG16 at 32×32 (its own random initialisation)', async () => {
    const model = buildVgg16({ inputShape: [32, 32, 3] });
    expect(await worstError(model, 3)).toBeLessThan(1e-4);
    disposeModel(model);
  });

  it.skipIf(!existsSync(TEACHABLE))('the Teachable Machine model (MobileNetV2 nested two levels deep, trained weights)', async () => {
    const model = await loadTfjsModel(TEACHABLE);
    expect(await worstError(model, 3)).toBeLessThan(1e-4);
    disposeModel(model);
  });
});

describe('ONNX forward graph refuses what it cannot translate', () => {
  it('names the layer and why', () => {
    const up = chain([4, 4, 2], tfl.layers.conv2d({ filters: 2, kernelSize: 1, name: 'c' }), tfl.layers.upSampling2d({ size: [2, 2], name: 'up' }));
    expect(buildForwardGraph(up)).toMatch(/layer up is a UpSampling2D, which graft cannot run on onnxruntime/);
    const bn = chain([4, 4, 2], tfl.layers.batchNormalization({ axis: 1, name: 'bn_rows' }));
    expect(buildForwardGraph(bn)).toMatch(/layer bn_rows \(BatchNormalization\): normalisation over axis 1/);
    const rank3 = chain([5, 3], tfl.layers.dense({ units: 2, name: 'seq' }));
    expect(buildForwardGraph(rank3)).toMatch(/has shape \[5, 3\]/);
    for (const m of [up, bn, rank3]) disposeModel(m);
  });
});
