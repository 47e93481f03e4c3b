import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareSource, type PreparedSource } from '../../app/source.js';
import { readSourceFiles } from '../../app/source-files.js';
import { expandZips, zipClasses } from '../../app/zip.js';
import { toOnnxBytes } from '../../src/io/export-onnx.js';
import { buildSmallCnn } from '../../src/models/small-cnn.js';
import { isGraftError } from '../../src/errors.js';
import { tmKerasArchive, tmWeightsH5, zipOf } from './app-fixtures.js';
import { splitPerClass } from '../../app/split.js';
import { Rng } from '../../src/engine/rng.js';
import { initBrowserBackend } from '../../src/platform/browser/backend.js';
import { loadBackbone } from '../../src/workflows/backbone.js';
import { disposeModel } from '../../src/models/dispose.js';

/** The app's pieces that need no browser: the source it builds from a dropped model, and its split. */
const TM = path.resolve(import.meta.dirname, '../../../shared/fixtures/teachable-machine');
const hasTm = existsSync(path.join(TM, 'model.json'));
if (!hasTm) console.log(`app source test skipped: no Teachable Machine fixture at ${TM}`);

describe('app source: a dropped Teachable Machine export', () => {
  beforeAll(async () => {
    await initBrowserBackend({ backend: 'cpu' });
  });

  it.skipIf(!hasTm)("becomes MobileNetV2 α 0.35 at the chosen size, computing what graft's --weights model.json backbone computes", async () => {
    const before = tf.memory().numTensors;
    const files = { kind: 'tfjs' as const, modelJson: await readFile(path.join(TM, 'model.json'), 'utf8'), weights: new Uint8Array(await readFile(path.join(TM, 'weights.bin'))), name: 'model.json' };
    const source = await prepareSource(files, 48);
    const node = await loadBackbone({ backbone: 'mobilenetv2:0.35', input: 48, weights: path.join(TM, 'model.json') });
    try {
      expect(source.input).toBe(48);
      expect(source.description).toContain('MobileNetV2 α 0.35');
      expect(source.model.inputs[0]!.shape).toEqual([null, 48, 48, 3]);
      const rng = new Rng(5);
      const x = Float32Array.from({ length: 2 * 48 * 48 * 3 }, () => rng.next());
      // Feature maps (no classifier yet): the models' raw outputs.
      const features = (m: typeof source.model) => tf.tidy(() => (m.predict(tf.tensor4d(x, [2, 48, 48, 3])) as tf.Tensor).dataSync() as Float32Array);
      const a = features(source.model);
      const b = features(node.model);
      expect(a.length).toBe(b.length);
      const worst = a.reduce((w, v, i) => Math.max(w, Math.abs(v - b[i]!)), 0);
      expect(worst).toBeLessThanOrEqual(1e-5);
      // Not a trivially equal pair: the features vary with the image.
      expect(a.some((v, i) => Math.abs(v - a[i + a.length / 2]!) > 1e-3)).toBe(true);
    } finally {
      disposeModel(source.model);
      disposeModel(node.model);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it.skipIf(!hasTm)('refuses an input below 32 for MobileNetV2, naming the value and the fix', async () => {
    const files = { kind: 'tfjs' as const, modelJson: await readFile(path.join(TM, 'model.json'), 'utf8'), weights: new Uint8Array(await readFile(path.join(TM, 'weights.bin'))), name: 'model.json' };
    await expect(prepareSource(files, 16)).rejects.toThrow(/at least 32×32; received 16\. Choose 32 or more/);
  });
});

describe('app split', () => {
  it('holds out the test share of every class, then the validation share of the rest, seeded', () => {
    const labels = [...Array<number>(40).fill(0), ...Array<number>(10).fill(1)];
    const parts = splitPerClass(labels, 2, 0.2, 0.25, 0);
    const count = (k: number, p: string) => parts.filter((q, i) => q === p && labels[i] === k).length;
    expect([count(0, 'train'), count(0, 'validation'), count(0, 'test')]).toEqual([24, 8, 8]);
    expect([count(1, 'train'), count(1, 'validation'), count(1, 'test')]).toEqual([6, 2, 2]);
    expect(splitPerClass(labels, 2, 0.2, 0.25, 0)).toEqual(parts);
    expect(splitPerClass(labels, 2, 0.2, 0.25, 1)).not.toEqual(parts);
  });
});

const KERAS_CNN = path.resolve(import.meta.dirname, '../../../shared/fixtures/keras/keras-3.3.3-cnn.keras');
const hasKerasCnn = existsSync(KERAS_CNN);
if (!hasKerasCnn) console.log(`app source test (grey Keras model) skipped: no fixture at ${KERAS_CNN}`);

/** The models' raw outputs (feature maps: no classifier yet) on the same random images. */
function features(m: tfl.LayersModel, side: number, n = 2): Float32Array {
  const rng = new Rng(5);
  const x = Float32Array.from({ length: n * side * side * 3 }, () => rng.next());
  return tf.tidy(() => (m.predict(tf.tensor4d(x, [n, side, side, 3])) as tf.Tensor).dataSync() as Float32Array);
}
const worstDiff = (a: Float32Array, b: Float32Array): number => a.reduce((w, v, i) => Math.max(w, Math.abs(v - b[i]!)), 0);

describe('app sources from bytes: Keras, built-in, ONNX', () => {
  beforeAll(async () => {
    await initBrowserBackend({ backend: 'cpu' });
  });

  /** Compares a source's features at `side` with graft's Node backbone from the Teachable Machine export, and frees both. */
  async function sameAsTeachableMachine(made: PreparedSource, side: number): Promise<void> {
    // graft's Node backbone with the Teachable Machine weights: built by other code than the app's.
    const tm = await loadBackbone({ backbone: 'mobilenetv2:0.35', input: side, weights: path.join(TM, 'model.json') });
    try {
      expect(made.input).toBe(side);
      expect(made.model.inputs[0]!.shape).toEqual([null, side, side, 3]);
      expect(made.unfreeze).toEqual({ from: 'block_16_expand' });
      const a = features(made.model, side);
      const b = features(tm.model, side);
      expect(a.length).toBe(b.length);
      expect(worstDiff(a, b)).toBeLessThanOrEqual(1e-5);
      // Not a trivially equal pair: the features vary with the image.
      expect(a.some((v, i) => Math.abs(v - a[i + a.length / 2]!) > 1e-3)).toBe(true);
    } finally {
      disposeModel(tm.model);
      disposeModel(made.model);
    }
  }

  it.skipIf(!hasTm)("a .keras MobileNetV2 (saved at 64) is rebuilt at the chosen size with its weights, as a Teachable Machine export is", async () => {
    const before = tf.memory().numTensors;
    const bytes = await tmKerasArchive(64);
    const source = await prepareSource({ kind: 'keras', name: 'mobilenet.keras', bytes }, 48);
    expect(source.description).toContain('MobileNetV2 α 0.35 from mobilenet.keras, rebuilt at 48×48×3');
    await sameAsTeachableMachine(source, 48);
    expect(tf.memory().numTensors).toBe(before);
  });

  it.skipIf(!hasTm)("the built-in source applies a weights-only .h5 (Keras applications' layer names) to MobileNetV2 α 0.35", async () => {
    const before = tf.memory().numTensors;
    const weights = await tmWeightsH5();
    const source = await prepareSource({ kind: 'builtin', name: 'MobileNetV2 α 0.35 (built-in)', alpha: 0.35, weights }, 40);
    expect(source.description).toContain("Keras applications' ImageNet weights");
    await sameAsTeachableMachine(source, 40);
    expect(tf.memory().numTensors).toBe(before);
  });

  it.skipIf(!hasKerasCnn)('a Keras model of grey images is refused: the app feeds RGB', async () => {
    const bytes = new Uint8Array(await readFile(KERAS_CNN));
    const e = await prepareSource({ kind: 'keras', name: 'cnn.keras', bytes }, 48).catch((err: unknown) => err);
    expect(isGraftError(e) && e.code).toBe('SHAPE_MISMATCH');
    expect((e as Error).message).toMatch(/cnn\.keras takes input of shape \[, 28, 28, 1\]; the app feeds square RGB images/);
  });

  it('an ONNX model is cut before its classifier at its own size: the features its TF.js original computes', async () => {
    const before = tf.memory().numTensors;
    const cnn = buildSmallCnn({ inputShape: [24, 24, 3], filters: [4, 8], dense: 16, classes: 3, seed: 2 });
    const bytes = toOnnxBytes(cnn);
    // The layer before the output (dropout: identity when predicting) is what the ONNX import reuses.
    const reference = tfl.model({ inputs: cnn.inputs, outputs: cnn.layers.at(-2)!.output as tfl.SymbolicTensor });
    const source = await prepareSource({ kind: 'onnx', name: 'cnn.onnx', bytes, preprocess: 'scale' }, 96);
    try {
      expect(source.input).toBe(24);
      expect(source.cut).toBe(-1);
      expect(source.description).toMatch(/^ONNX cnn\.onnx .*input 24×24×3, scale preprocessing/);
      const a = features(source.model, 24);
      const b = features(reference, 24);
      expect(a.length).toBe(2 * 16);
      expect(worstDiff(a, b)).toBeLessThanOrEqual(1e-5);
      // Another preprocessing is another model: the choice reaches the import.
      const tfPre = await prepareSource({ kind: 'onnx', name: 'cnn.onnx', bytes, preprocess: 'tf' }, 96);
      expect(worstDiff(features(tfPre.model, 24), b)).toBeGreaterThan(1e-3);
      disposeModel(tfPre.model);
    } finally {
      disposeModel(source.model);
      disposeModel(cnn);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("app source chooser: the chosen files' kind, by content or extension", () => {
  const onnx = { preprocess: 'caffe' as const };
  const file = (name: string, bytes: Uint8Array | string): File => new File([typeof bytes === 'string' ? bytes : (bytes as Uint8Array<ArrayBuffer>)], name);
  const HDF5 = Uint8Array.of(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0);
  const ZIP = zipOf({ 'config.json': new TextEncoder().encode('{}') });

  it('tells Keras (HDF5 or zip signature, whatever the name), ONNX and TF.js apart', async () => {
    expect(await readSourceFiles([file('model.h5', HDF5)], onnx)).toMatchObject({ kind: 'keras', name: 'model.h5' });
    expect(await readSourceFiles([file('renamed.bin.model', HDF5)], onnx)).toMatchObject({ kind: 'keras' });
    expect(await readSourceFiles([file('m.keras', ZIP)], onnx)).toMatchObject({ kind: 'keras', name: 'm.keras' });
    expect(await readSourceFiles([file('net.onnx', Uint8Array.of(8, 7))], { preprocess: 'raw', layout: 'nchw' })).toMatchObject({ kind: 'onnx', preprocess: 'raw', layout: 'nchw' });
    const tfjs = await readSourceFiles([file('metadata.json', '{}'), file('model.json', JSON.stringify({ weightsManifest: [{ paths: ['a.bin', 'b.bin'] }] })), file('b.bin', Uint8Array.of(3)), file('a.bin', Uint8Array.of(1, 2))], onnx);
    expect(tfjs).toMatchObject({ kind: 'tfjs', name: 'model.json' });
    expect(Array.from((tfjs as { weights: Uint8Array }).weights)).toEqual([1, 2, 3]);
  });

  it('anything else gets a message naming the file and the kinds it takes', async () => {
    await expect(readSourceFiles([file('notes.txt', 'hello')], onnx)).rejects.toThrow(/notes\.txt is not a model graft reads \(5 bytes, starting 68 65 6c 6c 6f\)\. Choose a Keras model \(\.keras, or a full-model \.h5\), an ONNX model/);
    await expect(readSourceFiles([file('cats.zip', ZIP)], onnx)).rejects.toThrow(/cats\.zip is a zip, not a model: a zip of images goes to a class/);
    await expect(readSourceFiles([file('weights.bin', Uint8Array.of(1))], onnx)).rejects.toThrow(/received weights\.bin\. TF\.js weight files need their model\.json too/);
    await expect(readSourceFiles([file('a.keras', ZIP), file('b.onnx', Uint8Array.of(8))], onnx)).rejects.toThrow(/Choose one source model; received a\.keras, b\.onnx/);
    await expect(readSourceFiles([], onnx)).rejects.toThrow(/received no files/);
  });
});

describe('app zips of images', () => {
  const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 1);
  const jpg = Uint8Array.of(0xff, 0xd8, 0xff, 2);

  it('a zip of class folders gives one class per folder, with image types and the rest skipped', async () => {
    const zip = new File([zipOf({ 'pets/cat/a.jpg': jpg, 'pets/cat/b.png': png, 'pets/dog/c.JPG': jpg, 'pets/dog/notes.txt': png, '__MACOSX/pets/cat/._a.jpg': jpg }) as Uint8Array<ArrayBuffer>], 'pets.zip');
    const z = await zipClasses(zip);
    expect(z.classes.map((c) => [c.name, c.files.map((f) => `${f.name} ${f.type}`)])).toEqual([
      ['cat', ['a.jpg image/jpeg', 'b.png image/png']],
      ['dog', ['c.JPG image/jpeg']],
    ]);
    expect(new Uint8Array(await z.classes[0]!.files[1]!.arrayBuffer())).toEqual(png);
    expect(z.skipped).toContain('pets.zip/pets/dog/notes.txt');
  });

  it("a class slot's zips are expanded among its other files, folders inside ignored", async () => {
    const zip = new File([zipOf({ 'x/1.jpg': jpg, 'y/2.png': png }) as Uint8Array<ArrayBuffer>], 'more.zip', { type: 'application/zip' });
    const loose = new File([jpg], 'loose.jpg', { type: 'image/jpeg' });
    const r = await expandZips([loose, zip]);
    expect(r.files.map((f) => f.name)).toEqual(['loose.jpg', '1.jpg', '2.png']);
  });
});
