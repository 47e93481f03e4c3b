import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadBackbone } from '../../src/workflows/backbone.js';
import { buildBackboneBase, parseBackbone } from '../../src/models/backbones.js';
import { zooEntry } from '../../src/models/zoo.js';
import { fetchZooWeights } from '../../src/io/backbone-weights.js';
import { loadModel } from '../../src/io/run-dir.js';
import { transfer } from '../../src/transfer/transfer.js';
import { disposeModel } from '../../src/models/dispose.js';
import { Rng } from '../../src/engine/rng.js';
import { liveTensors, rejectsWith, thrown, useBackend } from '../helpers.js';

beforeAll(useBackend);

const TM = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/teachable-machine/model.json');
const hasTm = existsSync(TM);
if (!hasTm) console.log(`backbone.test: Teachable Machine checks skipped: ${TM} does not exist`);

function unitImages(n: number, side: number, seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(Float32Array.from({ length: n * side * side * 3 }, () => rng.next()), [n, side, side, 3]);
}

const maxRelDiff = (a: tf.Tensor, b: tf.Tensor): number => {
  const x = a.dataSync();
  const y = b.dataSync();
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    scale = Math.max(scale, Math.abs(y[i]!));
    worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
  }
  return worst / scale;
};

describe('backbones', () => {
  it('parses backbone names and refuses unknown ones with the choices', () => {
    expect(parseBackbone('vgg16')).toEqual({ name: 'vgg16' });
    expect(parseBackbone('MobileNetV2:0.35')).toEqual({ name: 'mobilenetv2', alpha: 0.35 });
    expect(thrown(() => parseBackbone('mobilenetv2:0.4')).message).toMatch(/one of 0.35, 0.5, 0.75, 1/);
    expect(thrown(() => parseBackbone('resnet50')).message).toMatch(/choose vgg16, mobilenetv2/);
  });

  it("applies VGG16's caffe preprocessing exactly once, inside the model", async () => {
    const before = liveTensors();
    const b = await loadBackbone({ backbone: 'vgg16', input: 32, weights: 'none', seed: 4 });
    expect(b.model.layers[1]!.name).toBe('graft_preprocess_caffe');
    expect(b.model.layers[1]!.trainable).toBe(false);
    const plain = buildBackboneBase({ name: 'vgg16' }, [32, 32, 3], 4);
    const x = unitImages(2, 32, 1);
    // keras.applications.vgg16.preprocess_input on 0..255 RGB: BGR order, minus the ImageNet mean.
    const caffe = tf.tidy(() => tf.sub(tf.reverse(tf.mul(x, 255), -1), tf.tensor1d([103.939, 116.779, 123.68])));
    const ours = b.model.predict(x) as tf.Tensor;
    const theirs = plain.predict(caffe) as tf.Tensor;
    expect(maxRelDiff(ours, theirs)).toBeLessThan(1e-5);
    tf.dispose([x, caffe, ours, theirs]);
    disposeModel(b.model);
    disposeModel(plain);
    expect(liveTensors()).toBe(before);
  });

  it('refuses inputs smaller than the architecture allows', async () => {
    await rejectsWith(loadBackbone({ backbone: 'mobilenetv2', input: 16, weights: 'none' }), 'BAD_ARGUMENT');
  });

  it.skipIf(!hasTm)("takes a Teachable Machine export's MobileNetV2 weights at any input size, matching its features", async () => {
    const tm = await loadModel(TM);
    const inner = tm.model.layers[0] as tfl.LayersModel; // MobileNetV2 + global average pooling
    const b = await loadBackbone({ backbone: 'mobilenetv2:0.35', input: 224, weights: TM });
    const pooled = tfl.model({ inputs: b.model.inputs, outputs: tfl.layers.globalAveragePooling2d({}).apply(b.model.outputs[0]!) as tfl.SymbolicTensor });
    const x = unitImages(2, 224, 2);
    const ours = pooled.predict(x) as tf.Tensor;
    // Teachable Machine preprocesses outside its model: x / 127.5 − 1 on 0..255 pixels.
    const theirs = inner.predict(tf.tidy(() => tf.sub(tf.mul(x, 2), 1))) as tf.Tensor;
    expect(maxRelDiff(ours, theirs)).toBeLessThan(1e-4);
    // The same weights at 64×64 (the write-up's size) build and run.
    const small = await loadBackbone({ backbone: 'mobilenetv2:0.35', input: 64, weights: TM });
    expect(small.model.outputs[0]!.shape).toEqual([null, 2, 2, 1280]);
    // A width mismatch names the shapes.
    await expect(loadBackbone({ backbone: 'mobilenetv2:1', input: 64, weights: TM })).rejects.toThrow(/has shape \[3, 3, 3, 16\] but .* needs \[3, 3, 3, 32\]/);
    tf.dispose([x, ours, theirs]);
    for (const m of [tm.model, b.model, small.model]) disposeModel(m);
  });

  it.skipIf(!hasTm)('cuts inside a nested model (the Teachable Machine export) at a named layer', async () => {
    const tm = await loadModel(TM);
    const t = await transfer(tm.model, { cut: 'out_relu', head: { classes: 2, pooling: 'avg' } });
    // Written by Keras 2.2-era MobileNetV2, which padded before Conv1.
    expect(t.reused.slice(0, 2).map((l) => l.name)).toEqual(['Conv1_pad', 'Conv1']);
    expect(t.reused.at(-1)!.name).toBe('out_relu');
    expect(t.head.map((l) => l.name)).toEqual(['head_pool', 'head_output']);
    expect(t.model.outputs[0]!.shape).toEqual([null, 1]);
    disposeModel(tm.model);
    disposeModel(t.model);
  });
});

describe('weight zoo', () => {
  let server: http.Server;
  let base: string;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'graft-zoo-'));
    server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': 5 });
      res.end('junk!');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it("names Keras's official files", () => {
    expect(zooEntry({ name: 'vgg16' }, 64).url).toBe('https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5');
    expect(zooEntry({ name: 'mobilenetv2', alpha: 0.35 }, 96).file).toBe('mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5');
    expect(zooEntry({ name: 'mobilenetv2' }, 64).file).toBe('mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5');
  });

  it('without network or file, says which URL to fetch and where to put it', async () => {
    const entry = zooEntry({ name: 'vgg16' }, 64);
    const off = await rejectsWith(fetchZooWeights(entry, { cacheDir: path.join(dir, 'c1'), kerasCache: false, download: false }), 'WEIGHTS_NOT_FOUND');
    expect(off.message).toContain(entry.url);
    expect(off.message).toContain(path.join(dir, 'c1', entry.file));
    const refused = await rejectsWith(fetchZooWeights(entry, { cacheDir: path.join(dir, 'c2'), kerasCache: false, mirror: 'http://127.0.0.1:1' }), 'WEIGHTS_NOT_FOUND');
    expect(refused.message).toMatch(/--weights FILE/);
    expect(await readdir(path.join(dir, 'c2'))).toEqual([]);
  });

  it('deletes a download whose MD5 differs from the one Keras publishes', async () => {
    const entry = zooEntry({ name: 'vgg16' }, 64);
    const e = await rejectsWith(fetchZooWeights(entry, { cacheDir: path.join(dir, 'c3'), kerasCache: false, mirror: base }), 'CHECKSUM_MISMATCH');
    expect(e.message).toMatch(/not 6d6bbae143d832006294945121d1f1fc/);
    expect(await readdir(path.join(dir, 'c3'))).toEqual([]);
  });

  it("finds a file already in graft's cache or in Keras's cache", async () => {
    const entry = zooEntry({ name: 'mobilenetv2', alpha: 0.5 }, 128);
    const kerasHome = path.join(dir, 'keras');
    await mkdir(path.join(kerasHome, 'models'), { recursive: true });
    await writeFile(path.join(kerasHome, 'models', entry.file), 'x');
    expect(await fetchZooWeights(entry, { cacheDir: path.join(dir, 'c4'), download: false, env: { KERAS_HOME: kerasHome } })).toBe(path.join(kerasHome, 'models', entry.file));
    await mkdir(path.join(dir, 'c5'));
    await writeFile(path.join(dir, 'c5', entry.file), 'y');
    expect(await fetchZooWeights(entry, { cacheDir: path.join(dir, 'c5'), download: false, env: {} })).toBe(path.join(dir, 'c5', entry.file));
  });
});
