import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type * as Ort from 'onnxruntime-node';
import { BFLOAT16, FLOAT16, encodeOnnxModel, type OnnxModel, type OnnxNode } from '../../src/engine/onnx/model-proto.js';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { checkTfSupported, runOnnxOnTf, tfSupportedOps } from '../../src/engine/onnx/tfjs/run.js';
import { INT32_MAX, onnxTensorToTf } from '../../src/engine/onnx/tfjs/values.js';
import { TfWeightCache } from '../../src/engine/onnx/tfjs/weight-cache.js';
import { GraftError } from '../../src/errors.js';
import { topoSort } from '../../src/io/onnx/graph-checks.js';
import { readOnnxModel } from '../../src/io/onnx/read.js';
import { buildGradientGraph } from '../../src/train/graph/autodiff.js';
import { softmaxCrossEntropy } from '../../src/train/graph/loss.js';
import { differentiableOps } from '../../src/train/graph/registry.js';
import { useBackend } from '../helpers.js';

/**
 * The TF.js interpreter of ONNX graphs (src/engine/onnx/tfjs) on every PyTorch export in
 * fixtures/onnx (and the large ones make.py --large writes, when present): its output on the
 * stored input against onnxruntime's, within 1e-4 of the output's largest magnitude; tf's
 * autodiff through it against graft's ONNX gradient graph; no tensor left behind.
 */
const DIR = path.resolve(__dirname, '../../fixtures/onnx');
const LARGE_DIR = process.env.GRAFT_ONNX_FIXTURES ?? path.join(os.homedir(), '.cache/graft/onnx-fixtures');
const REL = 1e-4;

interface ArrayEntry { dtype: 'float32' | 'int32'; shape: number[]; offset: number; length: number }
interface InitializerEntry { param?: string }
interface OnnxEntry { file: string; variant: string; ok: boolean; initializers?: Record<string, InitializerEntry>; folded?: { initializers?: Record<string, InitializerEntry> } }
interface Header { bin: string; model: string; inputName: string; outputName: string; onnx: OnnxEntry[]; arrays: Record<string, ArrayEntry> }
interface Fixture { dir: string; header: Header; array: (name: string) => { data: Float32Array | Int32Array; shape: number[] } }

function fixture(dir: string, json: string): Fixture {
  const header = JSON.parse(readFileSync(path.join(dir, json), 'utf8')) as Header;
  const bin = readFileSync(path.join(dir, header.bin));
  return {
    dir,
    header,
    array: (name) => {
      const e = header.arrays[name];
      if (!e) throw new Error(`${header.model}: no array ${name}`);
      const copy = new Uint8Array(bin.subarray(e.offset, e.offset + 4 * e.length)).buffer;
      return { data: e.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy), shape: e.shape };
    },
  };
}

const fixturesIn = (dir: string): Fixture[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.ref.json')).sort().map((f) => fixture(dir, f)) : []);
const small = fixturesIn(DIR);
const large = fixturesIn(LARGE_DIR);
if (large.length === 0) console.log(`onnx-tfjs: large ONNX fixtures not checked: ${LARGE_DIR} has none (python fixtures/onnx/make.py --large --out ${LARGE_DIR} makes them)`);
const ort = await loadOnnxRuntime();
const missing = typeof ort === 'string' ? ort : undefined;
if (missing) console.log(`onnx-tfjs: not compared with onnxruntime: ${missing}`);
const cases = (list: Fixture[]) => list.flatMap((f) => f.header.onnx.filter((e) => e.ok).map((entry) => ({ f, entry })));

interface Loaded { model: OnnxModel; nodes: OnnxNode[]; opset: number; values: Map<string, tf.Tensor> }

async function load(f: Fixture, entry: OnnxEntry): Promise<Loaded> {
  const model = (await readOnnxModel(path.join(f.dir, entry.file))).model;
  const opset = model.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')!.version;
  const values = new Map(model.graph.initializers.map((t) => [t.name, onnxTensorToTf(t)]));
  return { model, nodes: topoSort(model.graph), opset, values };
}

/** The stored input: int32 ids for TF.js, int64 for onnxruntime. */
function ortFeed(f: Fixture): Ort.Tensor {
  const o = ort as typeof Ort;
  const { data, shape } = f.array('input');
  return data instanceof Int32Array ? new o.Tensor('int64', BigInt64Array.from(data, BigInt), shape) : new o.Tensor('float32', data, shape);
}

function tfInput(f: Fixture): tf.Tensor {
  const { data, shape } = f.array('input');
  return tf.tensor(data, shape, data instanceof Int32Array ? 'int32' : 'float32');
}

/** max |got − want| / max |want|, with the worst element's index for the message. */
function relError(got: ArrayLike<number>, want: ArrayLike<number>): { rel: number; at: number; scale: number } {
  expect(got.length).toBe(want.length);
  let worst = 0;
  let at = -1;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= worst)) {
      worst = Number.isNaN(d) ? Infinity : d;
      at = i;
    }
  }
  return { rel: worst / scale, at, scale };
}

const dispose = (m: Map<string, tf.Tensor>): void => m.forEach((t) => t.dispose());

beforeAll(async () => {
  await useBackend();
});

describe.skipIf(missing)('ONNX graphs on TF.js: output equals onnxruntime on the stored input', () => {
  for (const { f, entry } of [...cases(small), ...cases(large)]) {
    it(`${entry.file}`, async () => {
      const o = ort as typeof Ort;
      const session = await o.InferenceSession.create(path.join(f.dir, entry.file), { intraOpNumThreads: 1, logSeverityLevel: 3 });
      const want = (await session.run({ [f.header.inputName]: ortFeed(f) }))[f.header.outputName]!.data as Float32Array;
      await session.release();
      const { nodes, opset, values } = await load(f, entry);
      const before = tf.memory().numTensors;
      const input = tfInput(f);
      values.set(f.header.inputName, input);
      const [y] = runOnnxOnTf(nodes, values, [f.header.outputName], { opset });
      const got = y!.dataSync() as Float32Array;
      y!.dispose();
      input.dispose();
      values.delete(f.header.inputName);
      expect(tf.memory().numTensors, 'tensors left behind by the forward').toBe(before);
      dispose(values);
      const { rel, at, scale } = relError(got, want);
      if (process.env.ONNX_TFJS_REPORT) console.log(`onnx-tfjs ${entry.file}: rel ${rel.toExponential(1)} (largest |y| ${scale.toPrecision(3)})`);
      expect(rel, `element ${at}: TF.js ${got[at]}, onnxruntime ${want[at]}`).toBeLessThan(REL);
    }, 120_000);
  }
});

/**
 * tf.variableGrads through the interpreter (what graft's TF.js training engine does) against the
 * gradient graph graft builds for onnxruntime (buildGradientGraph, itself checked against PyTorch
 * autograd in test/train/graph/pytorch-fixtures.test.ts): the mean cross-entropy of the logits on
 * the stored batch and labels, every parameter's gradient within 1e-4 of its largest element.
 * BatchNorm stays in inference mode on both sides (the interpreter has no training mode).
 */
describe.skipIf(missing)('gradients through the TF.js interpreter equal the ONNX gradient graph', () => {
  for (const { f, entry } of cases(small.filter((x) => x.header.model !== 'fashion-mnist-a'))) {
    it(`${entry.file}`, async () => {
      const o = ort as typeof Ort;
      const { model, nodes, opset, values } = await load(f, entry);
      const map = (entry.variant !== 'keep-bn' && entry.folded?.initializers ? entry.folded.initializers : entry.initializers) ?? {};
      const trainable = Object.entries(map).filter(([, v]) => v.param).map(([name]) => name);
      expect(trainable.length).toBeGreaterThan(0);
      // The backward needs opset ≥ 16 (ScatterElements' reduction); 13–15 mean the same as 17 for these ops.
      const opsets = model.opsets.map((s) => (s.domain === '' || s.domain === 'ai.onnx' ? { ...s, version: Math.max(s.version, 17) } : s));
      const built = buildGradientGraph(softmaxCrossEntropy(model.graph, f.header.outputName), { loss: 'loss', trainable, opset: Math.max(opset, 17) });
      const session = await o.InferenceSession.create(encodeOnnxModel({ ...model, irVersion: Math.max(model.irVersion, 8), opsets, graph: built.graph }), { logSeverityLevel: 3 });
      const labels = f.array('labels');
      const feeds: Record<string, Ort.Tensor> = { [f.header.inputName]: ortFeed(f), labels: new o.Tensor('int64', BigInt64Array.from(labels.data, BigInt), labels.shape) };
      for (const p of built.params) feeds[p.name] = new o.Tensor('float32', p.data as Float32Array, p.dims);
      const want = await session.run(feeds);
      await session.release();

      const before = tf.memory().numTensors;
      const vars = trainable.map((name) => tf.variable(values.get(name)!, true, `${entry.file}/${name}`));
      const input = tfInput(f);
      const y = tf.tensor1d(labels.data as Int32Array, 'int32');
      const feedValues = new Map(values);
      feedValues.set(f.header.inputName, input);
      trainable.forEach((name, i) => feedValues.set(name, vars[i]!));
      const { value, grads } = tf.variableGrads(() => {
        const [logits] = runOnnxOnTf(nodes, feedValues, [f.header.outputName], { opset });
        const classes = logits!.shape[1]!;
        return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits!), tf.oneHot(y, classes)), 1))) as tf.Scalar;
      }, vars);
      expect(value.dataSync()[0]!, 'loss').toBeCloseTo(Number((want.loss!.data as Float32Array)[0]), 5);
      const off: string[] = [];
      let worstAll = 0;
      trainable.forEach((name, i) => {
        const got = grads[vars[i]!.name]!.dataSync() as Float32Array;
        const ref = want[`grad.${name}`]!.data as Float32Array;
        const { rel, at, scale } = relError(got, ref);
        // Attention's key bias has a zero gradient (softmax ignores a per-row constant): compared absolutely.
        if (scale < 1e-6) {
          if (!(rel * scale < 1e-6)) off.push(`${name}: ${rel * scale} off a zero gradient`);
          return;
        }
        worstAll = Math.max(worstAll, rel);
        if (!(rel < REL)) off.push(`${name}: element ${at} TF.js ${got[at]} vs ${ref[at]} (rel ${rel.toExponential(2)})`);
      });
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
      vars.forEach((v) => v.dispose());
      input.dispose();
      y.dispose();
      expect(tf.memory().numTensors, 'tensors left behind by the gradient').toBe(before);
      dispose(values);
      if (process.env.ONNX_TFJS_REPORT) console.log(`onnx-tfjs grad ${entry.file}: ${trainable.length} parameters, worst ${worstAll.toExponential(1)}`);
      expect(off).toEqual([]);
    }, 120_000);
  }
});

describe('what the TF.js interpreter runs and refuses', () => {
  it('runs every op the gradient registry has, and what exporters emit in forward graphs', () => {
    const forwardOnly = ['Constant', 'Shape', 'Size', 'ConstantOfShape', 'Cast', 'Range', 'Equal', 'Less', 'Greater', 'Not', 'And', 'Where', 'Expand', 'Gather', 'Unsqueeze', 'Squeeze', 'Slice', 'ReduceMean', 'Split', 'Identity', 'Dropout', 'GatherElements'];
    const ops = tfSupportedOps();
    expect(differentiableOps().filter((op) => !ops.includes(op))).toEqual([]);
    expect(forwardOnly.filter((op) => !ops.includes(op))).toEqual([]);
  });

  it('refuses an unsupported op naming the op, its node and the ops it runs, before touching a tensor', () => {
    const nodes: OnnxNode[] = [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'NonMaxSuppression', inputs: ['r'], outputs: ['s'], name: '/head/nms' },
      { op: 'FusedConv', domain: 'com.microsoft', inputs: ['s'], outputs: ['y'], name: '/fused' },
    ];
    expect(() => checkTfSupported(nodes, 'model.onnx')).toThrow(GraftError);
    const x = tf.ones([2]);
    const before = tf.memory().numTensors;
    let err: unknown;
    try {
      runOnnxOnTf(nodes, new Map([['x', x]]), ['y']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GraftError);
    const e = err as GraftError;
    expect(e.code).toBe('UNSUPPORTED_OP');
    expect(e.message).toContain('NonMaxSuppression');
    expect(e.message).toContain('"/head/nms"');
    expect(e.message).toContain('com.microsoft');
    expect(e.message).toMatch(/Conv, .*Relu/);
    expect(e.message).toContain('--engine onnxruntime');
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('carries int64 as int32, maps the "to the end" sentinels and refuses other values past int32', () => {
    const t = onnxTensorToTf({ name: 'ends', dims: [3], data: BigInt64Array.of(2n ** 63n - 1n, -(2n ** 63n), -5n) });
    expect(t.dtype).toBe('int32');
    expect(Array.from(t.dataSync())).toEqual([INT32_MAX, -INT32_MAX - 1, -5]);
    t.dispose();
    let err: unknown;
    try {
      onnxTensorToTf({ name: 'offsets', dims: [2], data: BigInt64Array.of(1n, 2n ** 40n) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GraftError);
    expect((err as GraftError).message).toContain('1099511627776');
    expect((err as GraftError).message).toContain('"offsets"');
  });

  it('reads float16, bfloat16 and double initializers as float32', () => {
    // 1, −2, 65504 (largest half), 2^−24 (smallest subnormal), −0.5 as IEEE half bits.
    const half = onnxTensorToTf({ name: 'h', dims: [5], data: Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0xb800), dataType: FLOAT16 });
    expect(Array.from(half.dataSync())).toEqual([1, -2, 65504, 2 ** -24, -0.5]);
    // bfloat16 is the top half of a float32: 0x3fc0 = 1.5, 0xc120 = −10.
    const bf = onnxTensorToTf({ name: 'b', dims: [2], data: Uint16Array.of(0x3fc0, 0xc120), dataType: BFLOAT16 });
    expect(Array.from(bf.dataSync())).toEqual([1.5, -10]);
    const dbl = onnxTensorToTf({ name: 'd', dims: [2], data: Float64Array.of(0.25, -3) });
    expect([dbl.dtype, ...dbl.dataSync()]).toEqual(['float32', 0.25, -3]);
    [half, bf, dbl].forEach((t) => t.dispose());
  });

  it('frees each intermediate after its last reader (peak memory of a 24-node chain stays near two tensors)', async () => {
    const x = tf.ones([256, 256]);
    const nodes: OnnxNode[] = Array.from({ length: 24 }, (_, i) => ({ op: i % 2 ? 'Relu' : 'Neg', inputs: [i ? `t${i - 1}` : 'x'], outputs: [`t${i}`] }));
    let out: tf.Tensor[] = [];
    const start = tf.memory().numBytes;
    const info = await tf.profile(() => {
      out = runOnnxOnTf(nodes, new Map([['x', x]]), ['t23']);
      return out[0]!;
    });
    out.forEach((t) => t.dispose());
    x.dispose();
    // Without freeing, all 24 outputs would be alive at the end (24 × 256 KiB).
    expect(info.peakBytes - start).toBeLessThanOrEqual(3 * x.size * 4);
    expect(info.peakBytes - start).toBeGreaterThanOrEqual(x.size * 4);
  });

  it('keeps a Conv → BN → Relu → Conv → MaxPool chain channels-last: one transpose in, one out', async () => {
    const rnd = (...dims: number[]) => tf.randomUniform(dims, -1, 1, 'float32', 5);
    const values = new Map<string, tf.Tensor>([['x', rnd(7, 3, 9, 9)], ['w1', rnd(4, 3, 3, 3)], ['w2', rnd(5, 4, 3, 3)], ['g', rnd(4)], ['b', rnd(4)], ['m', rnd(4)], ['v', tf.ones([4])]]);
    const nodes: OnnxNode[] = [
      { op: 'Conv', inputs: ['x', 'w1'], outputs: ['c1'] },
      { op: 'BatchNormalization', inputs: ['c1', 'g', 'b', 'm', 'v'], outputs: ['bn'] },
      { op: 'Relu', inputs: ['bn'], outputs: ['r'] },
      { op: 'Conv', inputs: ['r', 'w2'], outputs: ['c2'] },
      { op: 'MaxPool', inputs: ['c2'], outputs: ['y'], attrs: { kernel_shape: [2, 2] } },
    ];
    const info = await tf.profile(() => runOnnxOnTf(nodes, values, ['y'])[0]!);
    // Activations (batch 7 in front) are transposed twice; the two weights once each.
    const moved = info.kernels.filter((k) => k.name === 'Transpose').map((k) => (k.inputShapes[0]![0] === 7 ? 'activation' : 'weight'));
    expect(moved.sort()).toEqual(['activation', 'activation', 'weight', 'weight']);
    (info.result as tf.Tensor).dispose();
    values.forEach((t) => t.dispose());
  });

  it('frees every intermediate when an op fails midway, and names the failing node', () => {
    const a = tf.ones([2, 3]);
    const b = tf.ones([4, 5]);
    const before = tf.memory().numTensors;
    const nodes: OnnxNode[] = [
      { op: 'Relu', inputs: ['a'], outputs: ['r'] },
      { op: 'MatMul', inputs: ['r', 'b'], outputs: ['y'], name: '/bad/matmul' },
    ];
    expect(() => runOnnxOnTf(nodes, new Map([['a', a], ['b', b]]), ['y'])).toThrow(/"\/bad\/matmul".*float32\[2, 3\], float32\[4, 5\]/);
    expect(tf.memory().numTensors).toBe(before);
    a.dispose();
    b.dispose();
  });
});

describe('the weight cache', () => {
  it('reuses Conv weights in TF.js layout between inference runs, never under a gradient, and follows a variable\'s new values', async () => {
    const f = small.find((x) => x.header.model === 'convnet')!;
    const before = tf.memory().numTensors;
    const { nodes, opset, values } = await load(f, f.header.onnx.find((e) => e.file === 'convnet.torchscript-op17.onnx')!);
    const input = tfInput(f);
    values.set(f.header.inputName, input);
    const out = f.header.outputName;
    const cache = new TfWeightCache();
    const run = (withCache: boolean): Float32Array => {
      const [y] = runOnnxOnTf(nodes, values, [out], { opset, weightCache: withCache ? cache : undefined });
      const data = y!.dataSync() as Float32Array;
      y!.dispose();
      return data;
    };
    const transposes = async (withCache: boolean): Promise<number> => {
      const info = await tf.profile(() => runOnnxOnTf(nodes, values, [out], { opset, weightCache: withCache ? cache : undefined })[0]!);
      (info.result as tf.Tensor).dispose();
      return info.kernels.filter((k) => k.name === 'Transpose').length;
    };
    const convs = nodes.filter((n) => n.op === 'Conv');
    expect(run(true)).toEqual(run(false));
    expect(cache.size).toBe(convs.length);
    // Warm: one weight transpose fewer per Conv.
    expect((await transposes(false)) - (await transposes(true))).toBe(convs.length);

    // A trained weight: new values are picked up, and the gradient reaches it through the cache's owner.
    const name = convs[0]!.inputs[1]!;
    const initial = values.get(name)!;
    const v = tf.variable(initial, true, 'onnx-tfjs/cache-test');
    values.set(name, v);
    const old = run(true);
    const half = tf.mul(v, 0.5);
    v.assign(half);
    half.dispose();
    const fresh = run(true);
    expect(fresh).toEqual(run(false));
    expect(fresh).not.toEqual(old);
    const loss = (withCache: boolean) => () => tf.sum(tf.square(runOnnxOnTf(nodes, values, [out], { opset, weightCache: withCache ? cache : undefined })[0]!)) as tf.Scalar;
    const cached = tf.variableGrads(loss(true), [v]);
    const plain = tf.variableGrads(loss(false), [v]);
    const g = cached.grads[v.name]!.dataSync() as Float32Array;
    expect(Array.from(g)).toEqual(Array.from(plain.grads[v.name]!.dataSync()));
    expect(g.some((x) => x !== 0)).toBe(true);
    [cached.value, plain.value, ...Object.values(cached.grads), ...Object.values(plain.grads)].forEach((t) => t.dispose());

    cache.dispose();
    expect(cache.size).toBe(0);
    initial.dispose();
    dispose(values);
    expect(tf.memory().numTensors).toBe(before);
  });
});

/** One ResNet-18 forward (64×64, batch 8) on TF.js and on onnxruntime: printed, not asserted. */
const resnet = large.find((f) => f.header.model === 'resnet18');
describe.skipIf(missing || !resnet)('ResNet-18 forward time', () => {
  it('TF.js vs onnxruntime, 64×64 batch 8 (printed)', async () => {
    const f = resnet!;
    const entry = f.header.onnx.find((e) => e.file.endsWith('torchscript-op17.onnx'))!;
    const o = ort as typeof Ort;
    const feeds = { [f.header.inputName]: ortFeed(f) };
    // onnxruntime with its default threads, and with one (TF.js's wasm backend here runs one).
    const ortTimes: Record<string, number[]> = { default: [], '1 thread': [] };
    for (const [label, opts] of [['default', {}], ['1 thread', { intraOpNumThreads: 1, interOpNumThreads: 1 }]] as const) {
      const session = await o.InferenceSession.create(path.join(f.dir, entry.file), { logSeverityLevel: 3, ...opts });
      await session.run(feeds);
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        await session.run(feeds);
        ortTimes[label]!.push(performance.now() - t0);
      }
      await session.release();
    }
    const { nodes, opset, values } = await load(f, entry);
    const input = tfInput(f);
    values.set(f.header.inputName, input);
    // Each call rearranges the Conv weights, or (weight cache) only the first.
    const cache = new TfWeightCache();
    const times = (weightCache?: TfWeightCache): number[] => Array.from({ length: 6 }, () => {
      const t0 = performance.now();
      const [y] = runOnnxOnTf(nodes, values, [f.header.outputName], { opset, weightCache });
      y!.dataSync();
      y!.dispose();
      return performance.now() - t0;
    });
    const tfTimes = times();
    const cachedTimes = times(cache);
    cache.dispose();
    dispose(values);
    const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
    console.log(`onnx-tfjs ResNet-18 ${entry.file} forward, 64×64 batch 8: TF.js (${tf.getBackend()}) ${median(tfTimes.slice(1)).toFixed(0)} ms (first ${tfTimes[0]!.toFixed(0)} ms; with a weight cache ${median(cachedTimes.slice(1)).toFixed(0)} ms), onnxruntime ${median(ortTimes.default!).toFixed(0)} ms (1 thread ${median(ortTimes['1 thread']!).toFixed(0)} ms); machine load ${os.loadavg()[0]!.toFixed(1)}`);
    expect(cachedTimes.length).toBe(6);
  }, 300_000);
});
