import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type * as Ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadOnnxRuntime } from '../../../src/engine/onnx/runtime.js';
import { encodeOnnxModel } from '../../../src/engine/onnx/model-proto.js';
import { OnnxForward } from '../../../src/engine/onnx/forward/forward-session.js';
import { cutGraph } from '../../../src/io/onnx/cut.js';
import { readOnnxModel } from '../../../src/io/onnx/read.js';
import { inferShapes } from '../../../src/io/onnx/shape-infer.js';
import { loadOnnxSource } from '../../../src/io/onnx/source.js';
import { cloneModel } from '../../../src/transfer/transfer.js';
import { OnnxBlock } from '../../../src/models/onnx-block/layer.js';
import { useBackend } from '../../helpers.js';

beforeAll(useBackend);

/**
 * An ONNX model as a transfer source: the TF.js model loadOnnxSource builds (preprocessing, then
 * the model's blocks as OnnxBlock layers, up to the cut) must compute what onnxruntime computes
 * for the same tensor of the original file — on TF.js ops, after a model.json round trip, and
 * translated back to ONNX for onnxruntime (the feature cache and the training engine use that).
 */
const DIR = path.resolve(__dirname, '../../../fixtures/onnx');
const ortOrReason = await loadOnnxRuntime();
const ort = typeof ortOrReason === 'string' ? undefined : (ortOrReason as typeof Ort);
if (!ort) console.log(`ONNX source tests against onnxruntime skipped: ${ortOrReason as string}`);

interface Ref { arrays: Record<string, { dtype: string; shape: number[]; offset: number; length: number }>; bin: string }
function refInput(model: string): { data: Float32Array; shape: number[] } {
  const header = JSON.parse(readFileSync(path.join(DIR, `${model}.ref.json`), 'utf8')) as Ref;
  const bin = readFileSync(path.join(DIR, header.bin ?? `${model}.ref.bin`));
  const a = header.arrays.input!;
  return { data: new Float32Array(bin.buffer.slice(bin.byteOffset + a.offset, bin.byteOffset + a.offset + a.length * 4)), shape: a.shape };
}

/** NCHW → NHWC, as graft holds images. */
function toNhwc(x: Float32Array, [n, c, h, w]: number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < n!; i++) for (let k = 0; k < c!; k++) for (let y = 0; y < h!; y++) for (let z = 0; z < w!; z++) out[((i * h! + y) * w! + z) * c! + k] = x[((i * c! + k) * h! + y) * w! + z]!;
  return out;
}

/** The cut tensor of the original file, on onnxruntime. */
async function reference(file: string, cut: string, x: { data: Float32Array; shape: number[] }): Promise<Float32Array> {
  const { model } = await readOnnxModel(file);
  const input = model.graph.inputs[0]!.name;
  const prefix = cutGraph(model.graph, cut, inferShapes(model.graph, { [input]: ['N', ...x.shape.slice(1)] }));
  const session = await ort!.InferenceSession.create(encodeOnnxModel({ ...model, graph: prefix.graph }), { logSeverityLevel: 3 });
  const out = await session.run({ [input]: new ort!.Tensor('float32', x.data, x.shape) });
  await session.release();
  return out[prefix.output]!.data as Float32Array;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  }
  expect(worst / scale, `${what}: largest difference ${worst}, largest value ${scale}`).toBeLessThan(1e-4);
}

function predict(model: tfl.LayersModel, x: Float32Array, shape: number[]): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync() as Float32Array);
}

const CASES = [
  { model: 'fashion-mnist-a', file: 'fashion-mnist-a.onnx', cut: '/Relu_output_0' },
  // A feature map: channels-last out of TF.js, channels-first inside onnxruntime's graph.
  { model: 'fashion-mnist-a', file: 'fashion-mnist-a.onnx', cut: '/features/features.4/Relu_output_0' },
  { model: 'convnet', file: 'convnet.torchscript-op17.keep-bn.onnx', cut: undefined },
  { model: 'convnet', file: 'convnet.dynamo-op18.onnx', cut: undefined },
  { model: 'convnet', file: 'convnet.torchscript-op13.onnx', cut: undefined },
];

describe.skipIf(!ort)('ONNX files as transfer sources', () => {
  for (const c of CASES) {
    it(`${c.file}${c.cut ? ` cut at ${c.cut}` : ''}: TF.js, a model.json round trip and onnxruntime agree with the original file`, async () => {
      const file = path.join(DIR, c.file);
      const source = await loadOnnxSource(file, { preprocess: 'scale', ...(c.cut?.startsWith('/features') && { cut: c.cut }) });
      if (c.cut) expect(source.info.cut).toBe(c.cut);
      const x = refInput(c.model);
      const want = await reference(file, source.info.cut, x);
      const nhwc = toNhwc(x.data, x.shape);
      const shape = [x.shape[0]!, x.shape[2]!, x.shape[3]!, x.shape[1]!];
      // Features of rank 4 come back channels-last; compare in the file's layout.
      const fromNhwc = (y: Float32Array): Float32Array => {
        const f = source.info.featureShape;
        if (f.length !== 3) return y;
        const [h, w, ch] = f as [number, number, number];
        const out = new Float32Array(y.length);
        for (let i = 0; i < x.shape[0]!; i++) for (let a = 0; a < h; a++) for (let b = 0; b < w; b++) for (let k = 0; k < ch; k++) out[((i * ch + k) * h + a) * w + b] = y[((i * h + a) * w + b) * ch + k]!;
        return out;
      };
      expectClose(fromNhwc(predict(source.model, nhwc, shape)), want, 'TF.js');

      const copy = await cloneModel(source.model);
      expect(copy.layers.some((l) => l instanceof OnnxBlock)).toBe(true);
      expectClose(fromNhwc(predict(copy, nhwc, shape)), want, 'after a model.json round trip');

      const onOrt = await OnnxForward.create(ort!, source.model);
      if (typeof onOrt === 'string') throw new Error(onOrt);
      expectClose(fromNhwc(await onOrt.run(nhwc, x.shape[0]!, 8)), want, 'translated to onnxruntime');
      await onOrt.release();
      copy.dispose();
      source.model.dispose();
    });
  }

  it('the reused graph becomes one layer per PyTorch block, so freeze policies can name blocks', async () => {
    const fm = await loadOnnxSource(path.join(DIR, 'fashion-mnist-a.onnx'), { preprocess: 'scale' });
    expect(fm.info.blocks).toEqual(['onnx_features', 'onnx_fc1']);
    expect(fm.model.layers.map((l) => l.name)).toEqual(['image', 'onnx_features', 'onnx_fc1']);
    const conv = await loadOnnxSource(path.join(DIR, 'convnet.torchscript-op17.keep-bn.onnx'), { preprocess: 'imagenet' });
    expect(conv.info.blocks.slice(0, 2)).toEqual(['onnx_stem', 'onnx_dw']);
    // imagenet preprocessing is a frozen layer in front of the blocks.
    expect(conv.model.layers[1]!.name).toMatch(/^graft_preprocess_imagenet/);
    fm.model.dispose();
    conv.model.dispose();
  });

  it('parameters train, BatchNorm statistics do not, constants are no weights', async () => {
    const source = await loadOnnxSource(path.join(DIR, 'convnet.torchscript-op17.keep-bn.onnx'), { preprocess: 'imagenet' });
    const { model: onnx } = await readOnnxModel(path.join(DIR, 'convnet.torchscript-op17.keep-bn.onnx'));
    const bn = onnx.graph.nodes.filter((n) => n.op === 'BatchNormalization');
    expect(source.info.batchNormNodes).toBe(bn.length);
    const blocks = source.model.layers.filter((l): l is OnnxBlock => l instanceof OnnxBlock);
    const state = blocks.flatMap((b) => b.spec.weights.filter((w) => !w.trainable).map((w) => w.name)).sort();
    expect(state).toEqual(bn.flatMap((n) => [n.inputs[3]!, n.inputs[4]!]).sort());
    // The gradient reaches every trainable weight through the TF.js ops.
    const x = tf.randomUniform([2, 16, 16, 3]);
    const trainable = source.model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => tf.sum(source.model.apply(x) as tf.Tensor) as tf.Scalar, trainable);
    for (const v of trainable) expect(tf.sum(tf.abs(grads[v.name]!)).dataSync()[0], v.name).toBeGreaterThan(0);
    tf.dispose([x, ...Object.values(grads)]);
    source.model.dispose();
  });

  it('the scratch baseline re-draws an imported block by what its nodes use each weight for', async () => {
    const { reinitialize } = await import('../../../src/models/reinit.js');
    const file = path.join(DIR, 'convnet.torchscript-op17.keep-bn.onnx');
    const a = await loadOnnxSource(file, { preprocess: 'scale' });
    const b = await loadOnnxSource(file, { preprocess: 'scale' });
    reinitialize(a.model, 1);
    reinitialize(b.model, 2);
    const { model: onnx } = await readOnnxModel(file);
    const bn = onnx.graph.nodes.filter((n) => n.op === 'BatchNormalization');
    const conv = onnx.graph.nodes.filter((n) => n.op === 'Conv');
    const blocks = (m: tfl.LayersModel): OnnxBlock[] => m.layers.filter((l): l is OnnxBlock => l instanceof OnnxBlock);
    const value = (m: tfl.LayersModel, name: string): Float32Array => {
      for (const blk of blocks(m)) {
        const i = blk.spec.weights.findIndex((w) => w.name === name);
        if (i >= 0) return blk.variable(i).read().dataSync() as Float32Array;
      }
      throw new Error(`no weight ${name}`);
    };
    for (const n of bn) {
      expect(new Set(value(a.model, n.inputs[1]!))).toEqual(new Set([1]));
      expect(new Set(value(a.model, n.inputs[2]!))).toEqual(new Set([0]));
      expect(new Set(value(a.model, n.inputs[3]!))).toEqual(new Set([0]));
      expect(new Set(value(a.model, n.inputs[4]!))).toEqual(new Set([1]));
    }
    for (const n of conv.filter((c) => value(a.model, c.inputs[1]!).length > 0)) {
      const w = value(a.model, n.inputs[1]!);
      const dims = onnx.graph.initializers.find((t) => t.name === n.inputs[1])!.dims;
      const limit = Math.sqrt(6 / ((dims[0]! + dims[1]!) * dims.slice(2).reduce((p, q) => p * q, 1)));
      expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(limit);
      expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(limit / 2);
      // Another seed, other values.
      expect(value(b.model, n.inputs[1]!)).not.toEqual(w);
    }
    a.model.dispose();
    b.model.dispose();
  });

  it('refuses what it cannot use, saying what it received and what to do', async () => {
    const fm = path.join(DIR, 'fashion-mnist-a.onnx');
    await expect(loadOnnxSource(path.join(DIR, 'bert-tiny.torchscript-op17.onnx'), { preprocess: 'scale' })).rejects.toThrow(/int64 input input_ids.*image models/);
    await expect(loadOnnxSource(fm, { preprocess: 'scale', input: 64 })).rejects.toThrow(/takes height 28.*--input 64/);
    await expect(loadOnnxSource(fm, { preprocess: 'imagenet' })).rejects.toThrow(/3-channel.*takes 1/);
    await expect(loadOnnxSource(fm, { preprocess: 'scale', layout: 'nhwc' })).rejects.toThrow(/read as NHWC: 28 channels.*check --layout/);
    await expect(loadOnnxSource(fm, { preprocess: 'scale', cut: '/Relu_outptu_0' })).rejects.toThrow(/Relu_outptu_0/);
    // An op graft cannot run, in the reused part: refused before anything trains, naming it.
    const { model } = await readOnnxModel(fm);
    const relu = model.graph.nodes.find((n) => n.op === 'Relu')!;
    relu.op = 'Mish';
    const { importOnnxSource } = await import('../../../src/io/onnx/source.js');
    expect(() => importOnnxSource(model, 'mish.onnx', { preprocess: 'scale' })).toThrow(/mish\.onnx: graft cannot run op Mish of the reused part \(first at node "\/features\/features\.1\/Relu"\).*--cut/);
  });
});

it('commands that read a model, not a source, say how ONNX files are used', async () => {
  const { loadModel } = await import('../../../src/io/run-dir.js');
  await expect(loadModel(path.join(DIR, 'fashion-mnist-a.onnx'))).rejects.toThrow(/ONNX model: graft imports ONNX models as transfer sources only.*--preprocess HOW/);
});
