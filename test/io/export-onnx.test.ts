import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../src/engine/rng.js';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { buildMlp } from '../../src/models/mlp.js';
import { exportModel } from '../../src/io/export-model.js';
import { toOnnxBytes } from '../../src/io/export-onnx.js';
import { loadModel, saveRun } from '../../src/io/run-dir.js';
import { describeOutput } from '../../src/train/loss.js';
import { predictProbabilities } from '../../src/train/infer.js';
import { GRAFT_VERSION } from '../../src/version.js';
import { liveTensors, rejectsWith, testRunInfo, useBackend } from '../helpers.js';
import { onnxFileInfo } from './onnx-file-info.js';

beforeAll(useBackend);

/**
 * `graft export --to model.onnx`: onnxruntime (Node and Python) must predict what graft predicts
 * (predictProbabilities, within 1e-5) for graft's MLPs, a CNN with BatchNorm/Dropout/pooling and a
 * model written by real Keras; the file is written under graft's output rules.
 */
const TOL = 1e-5;
const ort = await loadOnnxRuntime();
if (typeof ort === 'string') console.log(`ONNX export tests skipped: ${ort}`);
const KERAS_CNN = path.resolve(__dirname, '../../../shared/fixtures/keras/keras-3.3.3-cnn.keras');
if (!existsSync(KERAS_CNN)) console.log(`Keras-sourced ONNX export test skipped: ${KERAS_CNN} is absent (../shared is not beside this clone)`);
const PYTHON = process.env.GRAFT_KERAS_PYTHON ?? '/tmp/peers/bin/python';
const pythonOrt = ((): string | undefined => {
  try {
    execFileSync(PYTHON, ['-c', 'import onnxruntime'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `${PYTHON} cannot import onnxruntime (set GRAFT_KERAS_PYTHON to a Python that has it)`;
  }
})();
if (pythonOrt) console.log(`Python onnxruntime checks skipped: ${pythonOrt}`);
const USER_ONNX = path.resolve(__dirname, 'onnx/fixtures/mlp.onnx');

const root = mkdtempSync(path.join(tmpdir(), 'graft-export-onnx-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let fileCount = 0;
const outFile = (): string => path.join(root, `m${fileCount++}.onnx`);

/** Every weight redrawn (BatchNorm statistics too, so they matter): variances and gammas positive, the rest in ±0.5 / fan-in. */
function randomize(model: tfl.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  for (const w of model.weights) {
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length > 1 ? n / shape[shape.length - 1]! : 1;
    const data = Float32Array.from({ length: n }, () => {
      const u = rng.next();
      if (/moving_variance$/.test(w.originalName)) return 0.3 + u;
      if (/gamma$/.test(w.originalName)) return 0.5 + u;
      return shape.length > 1 ? (2 * u - 1) * Math.sqrt(3 / fanIn) : u - 0.5;
    });
    const t = tf.tensor(data, shape);
    w.write(t);
    t.dispose();
  }
}

/** n samples of shape, pixel-like values in [0, 1]. */
function images(n: number, shape: readonly number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * shape.reduce((a, b) => a * b, 1) }, () => rng.next());
}

async function onnxPredict(file: string, x: Float32Array, dims: number[], names = { input: 'image', output: 'probabilities' }): Promise<{ p: Float32Array; dims: readonly number[] }> {
  const o = ort as Exclude<typeof ort, string>;
  const session = await o.InferenceSession.create(file);
  try {
    expect(session.inputNames).toEqual([names.input]);
    expect(session.outputNames).toEqual([names.output]);
    const out = (await session.run({ [names.input]: new o.Tensor('float32', x, dims) }))[names.output]!;
    return { p: out.data as Float32Array, dims: out.dims };
  } finally {
    await session.release();
  }
}

/** Largest |a − b|, after checking equal lengths and that the reference is no constant (which would prove little). */
function worstDiff(got: Float32Array, want: Float32Array): number {
  expect(got.length).toBe(want.length);
  expect(Math.max(...want) - Math.min(...want), 'reference probabilities are all equal').toBeGreaterThan(0.01);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  return worst;
}

/** Python onnxruntime's probabilities and the file's producer and metadata. */
function pythonPredict(file: string, x: Float32Array, dims: number[]): { p: number[]; producer: string; meta: Record<string, string> } {
  const xFile = `${file}.x.bin`;
  writeFileSync(xFile, x);
  const script = [
    'import json, sys, numpy as np, onnxruntime as ort',
    's = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])',
    'x = np.fromfile(sys.argv[2], dtype="<f4").reshape(json.loads(sys.argv[3]))',
    'p = s.run(["probabilities"], {"image": x})[0]',
    'm = s.get_modelmeta()',
    'print(json.dumps({"p": p.ravel().tolist(), "producer": m.producer_name, "meta": m.custom_metadata_map}))',
  ].join('\n');
  const out = execFileSync(PYTHON, ['-c', script, file, xFile, JSON.stringify(dims)], { encoding: 'utf8' });
  return JSON.parse(out) as ReturnType<typeof pythonPredict>;
}

/** A small CNN with BatchNorm, Dropout, max and average pooling, and a logits head (softmax is added on export). */
function cnn(): tfl.LayersModel {
  const model = tfl.sequential({
    name: 'cnn',
    layers: [
      tfl.layers.conv2d({ inputShape: [12, 12, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv1' }),
      tfl.layers.batchNormalization({ name: 'bn1' }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }),
      tfl.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', name: 'conv2' }),
      tfl.layers.averagePooling2d({ poolSize: 2, name: 'pool2' }),
      tfl.layers.dropout({ rate: 0.4, name: 'drop' }),
      tfl.layers.flatten({ name: 'flat' }),
      tfl.layers.dense({ units: 5, name: 'logits' }),
    ],
  });
  randomize(model, 7);
  return model;
}

/** Exports `model`, runs the file on onnxruntime-node, and compares with graft's probabilities. */
async function checkAgainstGraft(model: tfl.LayersModel, sample: number[], onnxSample: number[], seed: number): Promise<{ file: string; x: Float32Array; want: Float32Array }> {
  const file = outFile();
  await exportModel(model, file);
  const n = 5;
  const x = images(n, sample, seed);
  const head = describeOutput(model);
  const want = predictProbabilities(model, head, x, sample, 'test images');
  const got = await onnxPredict(file, x, [n, ...onnxSample]);
  expect(got.dims).toEqual([n, head.classes]);
  expect(worstDiff(got.p, want)).toBeLessThan(TOL);
  return { file, x, want };
}

describe.runIf(typeof ort !== 'string')('ONNX export: onnxruntime predicts what graft predicts', () => {
  it('Model A (graft MLP on [28, 28], 8-way softmax) from a run folder: [n, 28, 28, 1] in, probabilities, metadata from run.json', async () => {
    const model = buildMlp({ classes: 8, seed: 3 });
    const dir = path.join(root, 'model-a');
    const classNames = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sneaker', 'bag', 'boot'];
    await saveRun(dir, model, testRunInfo({ task: 'fashion-mnist:exclude=sandal,shirt', classNames, sampleShape: [28, 28], preprocessing: { pixelScale: 1 / 255, resize: 'squash' } }));
    model.dispose();
    const loaded = await loadModel(dir);
    const file = outFile();
    expect(await exportModel(loaded.model, file, { ...(loaded.run && { run: loaded.run }) })).toBe('onnx');
    const n = 4;
    const x = images(n, [28, 28], 11);
    const want = predictProbabilities(loaded.model, describeOutput(loaded.model), x, [28, 28], 'test images');
    const got = await onnxPredict(file, x, [n, 28, 28, 1]);
    expect(got.dims).toEqual([n, 8]);
    expect(worstDiff(got.p, want)).toBeLessThan(TOL);
    const info = onnxFileInfo(readFileSync(file));
    expect(info.producer).toBe('graft');
    expect(info.version).toBe(GRAFT_VERSION);
    expect(JSON.parse(info.meta.classes!)).toEqual(classNames);
    expect(info.meta.task).toBe('fashion-mnist:exclude=sandal,shirt');
    expect(info.meta.input).toMatch(/^image: float32 \[n, 28, 28, 1\], channels last .*values in \[0, 1\].*squash/);
    expect(info.meta.output).toMatch(/^probabilities: float32 \[n, 8\], softmax/);
    if (!pythonOrt) {
      const py = pythonPredict(file, x, [n, 28, 28, 1]);
      expect(py.producer).toBe('graft');
      expect(JSON.parse(py.meta.classes!)).toEqual(classNames);
      expect(worstDiff(Float32Array.from(py.p), want)).toBeLessThan(TOL);
    }
    loaded.model.dispose();
  });

  it('Model B (one sigmoid unit): probabilities are [1 − p, p], as graft predict reports them', async () => {
    const model = buildMlp({ classes: 2, seed: 4, inputShape: [10, 10] });
    randomize(model, 5);
    const { file } = await checkAgainstGraft(model, [10, 10], [10, 10, 1], 12);
    expect(onnxFileInfo(readFileSync(file)).meta.output).toMatch(/\[n, 2\], \[1 - p, p\] from one sigmoid unit/);
    model.dispose();
  });

  it('a CNN with BatchNorm, Dropout and pooling, logits head: the softmax is added in the graph', async () => {
    const model = cnn();
    const { file, x, want } = await checkAgainstGraft(model, [12, 12, 3], [12, 12, 3], 13);
    if (!pythonOrt) expect(worstDiff(Float32Array.from(pythonPredict(file, x, [5, 12, 12, 3]).p), want)).toBeLessThan(TOL);
    model.dispose();
  });

  it.runIf(existsSync(KERAS_CNN))('a model written by Keras 3.3.3 (.keras)', async () => {
    const loaded = await loadModel(KERAS_CNN);
    const sample = loaded.model.inputs[0]!.shape.slice(1) as number[];
    const { file, x, want } = await checkAgainstGraft(loaded.model, sample, sample, 14);
    if (!pythonOrt) expect(worstDiff(Float32Array.from(pythonPredict(file, x, [5, ...sample]).p), want)).toBeLessThan(TOL);
    loaded.model.dispose();
  });
});

describe.runIf(typeof ort !== 'string')('ONNX export: other inputs and outputs', () => {
  it('a model on vectors takes `features` [n, size]', async () => {
    const model = tfl.sequential({ name: 'tabular', layers: [tfl.layers.dense({ inputShape: [7], units: 6, activation: 'relu' }), tfl.layers.dense({ units: 4, activation: 'softmax' })] });
    randomize(model, 8);
    const file = outFile();
    await exportModel(model, file);
    const x = images(3, [7], 15);
    const want = predictProbabilities(model, describeOutput(model), x, [7], 'test rows');
    const got = await onnxPredict(file, x, [3, 7], { input: 'features', output: 'probabilities' });
    expect(worstDiff(got.p, want)).toBeLessThan(TOL);
    expect(onnxFileInfo(readFileSync(file)).meta.input).toMatch(/^features: float32 \[n, 7\]; values as the model was trained on/);
    model.dispose();
  });

  it('a model that is no classifier keeps its own output, named `output`, NHWC as TF.js has it', async () => {
    const model = tfl.sequential({ name: 'features_only', layers: [tfl.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, name: 'conv' })] });
    randomize(model, 9);
    const file = outFile();
    await exportModel(model, file);
    const x = images(2, [6, 6, 2], 16);
    const want = tf.tidy(() => (model.predict(tf.tensor(x, [2, 6, 6, 2])) as tf.Tensor).dataSync() as Float32Array);
    const got = await onnxPredict(file, x, [2, 6, 6, 2], { input: 'image', output: 'output' });
    expect(got.dims).toEqual([2, 4, 4, 3]);
    expect(worstDiff(got.p, want)).toBeLessThan(TOL);
    expect(onnxFileInfo(readFileSync(file)).meta.output).toMatch(/^output: float32 \[n, 4, 4, 3\], the model's last layer as it is$/);
    model.dispose();
  });
});

describe.runIf(typeof ort !== 'string')('ONNX export: files and refusals', () => {
  it("refuses to replace a user's model.onnx, even with --force, and leaves it byte-identical", async () => {
    const file = path.join(root, 'users.onnx');
    copyFileSync(USER_ONNX, file);
    const before = readFileSync(file);
    const model = buildMlp({ classes: 3, inputShape: [4, 4] });
    const plain = await rejectsWith(exportModel(model, file), 'OUTPUT_EXISTS');
    expect(plain.message).toMatch(/not written by graft/);
    const forced = await rejectsWith(exportModel(model, file, { force: true }), 'OUTPUT_PROTECTED');
    expect(forced.message).toContain(file);
    expect(readFileSync(file).equals(before)).toBe(true);
    model.dispose();
  });

  it("replaces graft's own .onnx only with --force", async () => {
    const file = path.join(root, 'own.onnx');
    const first = buildMlp({ classes: 3, inputShape: [4, 4], seed: 1 });
    const second = buildMlp({ classes: 3, inputShape: [4, 4], seed: 2 });
    await exportModel(first, file);
    const before = readFileSync(file);
    expect(before.equals(Buffer.from(toOnnxBytes(first)))).toBe(true);
    await rejectsWith(exportModel(second, file), 'OUTPUT_EXISTS');
    expect(readFileSync(file).equals(before)).toBe(true);
    await exportModel(second, file, { force: true });
    expect(readFileSync(file).equals(Buffer.from(toOnnxBytes(second)))).toBe(true);
    expect(readFileSync(file).equals(before)).toBe(false);
    first.dispose();
    second.dispose();
  });

  it('leaves no tensors behind (the [h, w] → [h, w, 1] wrapper included)', () => {
    const model = buildMlp({ classes: 3, inputShape: [5, 5] });
    const before = liveTensors();
    toOnnxBytes(model);
    expect(liveTensors()).toBe(before);
    model.dispose();
  });

  it('refuses a layer with no ONNX translation, naming it, and writes nothing', async () => {
    const model = tfl.sequential({
      name: 'upsampler',
      layers: [tfl.layers.upSampling2d({ inputShape: [4, 4, 1], size: [2, 2], name: 'grow' }), tfl.layers.flatten({}), tfl.layers.dense({ units: 3, activation: 'softmax' })],
    });
    const file = path.join(root, 'never.onnx');
    const e = await rejectsWith(exportModel(model, file), 'UNSUPPORTED_OP');
    expect(e.message).toMatch(/Cannot export upsampler to ONNX: layer grow is a UpSampling2D/);
    expect(e.message).toMatch(/--to model\.keras/);
    expect(existsSync(file)).toBe(false);
    model.dispose();
  });
});
