import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { maybeGunzip } from '../../src/data/idx.js';
import { GraftError } from '../../src/errors.js';
import { decodeImage } from '../../src/io/image-decode.js';
import { h5lib } from '../../src/io/keras/h5lib.js';
import { openH5 } from '../../src/io/keras/hdf5.js';
import { loadKerasModelFromBytes } from '../../src/io/keras/load.js';
import { assignWeights } from '../../src/io/keras/weights.js';
import { loadModel, readRunInfo } from '../../src/io/run-dir.js';
import { toTfjsFiles } from '../../src/io/tfjs-format.js';
import { buildMlp } from '../../src/models/mlp.js';
import { disposeModel } from '../../src/models/dispose.js';
import { parseConfigText } from '../../src/workflows/config/load.js';
import { encodeJpeg, encodePng, gradient } from '../io/image-fixtures.js';
import { runInfo } from '../report/fixtures.js';
import { useBackend } from '../helpers.js';
import { MiB } from './harness.js';
import { jpegFrameAt } from './layouts.js';
import { fixCrcs } from './png-builder.js';

/**
 * Hostile model and data files, built on purpose rather than found by mutation: each must be
 * refused with a GraftError that says why, before graft reads outside the file or allocates for a
 * claim the file cannot back.
 */

beforeAll(useBackend);
const root = mkdtempSync(path.join(tmpdir(), 'graft-untrusted-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const KERAS = new Uint8Array(readFileSync(path.resolve(__dirname, '../../fixtures/keras/nested.keras')));

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<GraftError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof GraftError) return e;
    throw e;
  }
  throw new Error('expected a GraftError');
}

describe('untrusted .keras archives', () => {
  it.each(['../evil.json', '..\\evil.json', '/etc/passwd', 'C:\\evil.json', 'a/../../evil.json', 'model.weights.h5/../../x'])('zip-slip entry %s is refused', async (name) => {
    const files = unzipSync(KERAS);
    const e = await refusal(loadKerasModelFromBytes(zipSync({ ...files, [name]: strToU8('{}') }), 'slip.keras'));
    expect(e).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/zip-slip/) });
  });

  it('an entry whose directory claims 2 GiB is refused before the unzipper allocates it', async () => {
    const bytes = zipSync(unzipSync(KERAS));
    // Central directory record of config.json: "PK\x01\x02", uncompressed size at +24.
    const view = new DataView(bytes.buffer);
    for (let i = 0; i + 46 < bytes.length; i++) {
      if (view.getUint32(i, true) !== 0x02014b50) continue;
      const nameLength = view.getUint16(i + 28, true);
      if (new TextDecoder().decode(bytes.subarray(i + 46, i + 46 + nameLength)) === 'config.json') view.setUint32(i + 24, 0x7fffffff, true);
    }
    const before = process.memoryUsage().arrayBuffers;
    const e = await refusal(loadKerasModelFromBytes(bytes, 'liar.keras'));
    expect(e).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/claims 2147483647 bytes from \d+ stored bytes/) });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * MiB);
  });

  it('a directory of 10 001 entries is refused', async () => {
    const many: Record<string, Uint8Array> = {};
    for (let i = 0; i <= 10_000; i++) many[`f${i}`] = new Uint8Array(0);
    const e = await refusal(loadKerasModelFromBytes(zipSync(many), 'many.keras'));
    expect(e).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/more than 10000 entries/) });
  });

  it('a config.json nested 10 000 deep is refused before parsing', async () => {
    const files = unzipSync(KERAS);
    const e = await refusal(loadKerasModelFromBytes(zipSync({ ...files, 'config.json': strToU8(`${'['.repeat(10_000)}${']'.repeat(10_000)}`) }), 'deep.keras'));
    expect(e).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/config\.json nests deeper than 200 levels/) });
  });
});

describe('untrusted HDF5', () => {
  it('a variable-length string claiming 512 MiB is refused before HDF5 allocates it', async () => {
    // nested.h5 stores keras_version ("3.15.1") as [length u32 = 6][heap address][object index] at byte 888.
    const bytes = new Uint8Array(readFileSync(path.resolve(__dirname, '../../fixtures/keras/nested.h5')));
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(888, true)).toBe(6);
    view.setUint32(888, 0x20000006, true);
    const e = await refusal(loadKerasModelFromBytes(bytes, 'vlen.h5'));
    expect(e).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/variable-length value at byte 888 claims 536870918 bytes, but its heap object holds 6/) });
  });

  it('an external link to another file is refused, not followed', async () => {
    const h5wasm = await h5lib();
    const { FS } = await h5wasm.ready;
    const name = `/graft-untrusted-${process.pid}.h5`;
    const f = new h5wasm.File(name, 'w');
    const layer = f.create_group('layers').create_group('dense');
    layer.create_external_link('/etc/secret.h5', '/weights', 'vars');
    f.close();
    const bytes = FS.readFile(name) as Uint8Array;
    FS.unlink(name);
    const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2], name: 'dense' })] });
    const h5 = await openH5(bytes, 'linked.weights.h5');
    try {
      const e = await refusal(() => assignWeights(model, h5, 'linked.weights.h5'));
      expect(e).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/external link to another file; graft reads only what is inside the model file/) });
    } finally {
      h5.close();
      disposeModel(model);
    }
  });
});

describe('untrusted TF.js model folders', () => {
  async function modelDir(name: string, edit: (manifest: { paths: unknown[] }) => void): Promise<string> {
    const model = buildMlp({ inputShape: [2, 2], hidden: 3, classes: 3 });
    const files = await toTfjsFiles(model, 'test');
    disposeModel(model);
    const dir = path.join(root, name);
    mkdirSync(dir, { recursive: true });
    const json = JSON.parse(files['model.json']) as { weightsManifest: Array<{ paths: unknown[] }> };
    edit(json.weightsManifest[0]!);
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    writeFileSync(path.join(dir, 'weights.bin'), files['weights.bin']);
    return dir;
  }

  it.each([
    ['../../etc/passwd', /points outside the model's folder/],
    ['/etc/passwd', /points outside the model's folder/],
    ['sub/../../weights.bin', /points outside the model's folder/],
    ['', /points outside the model's folder/],
  ])('weight path %j is refused', async (p, reason) => {
    const dir = await modelDir(`path-${Buffer.from(p).toString('hex')}`, (m) => (m.paths = [p]));
    expect(await refusal(loadModel(dir))).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(reason) });
  });

  it('a weight file that is a symlink out of the folder is refused', async () => {
    const outside = path.join(root, 'secret.bin');
    writeFileSync(outside, new Uint8Array(64));
    const dir = await modelDir('symlinked', (m) => (m.paths = ['link.bin']));
    symlinkSync(outside, path.join(dir, 'link.bin'));
    expect(await refusal(loadModel(dir))).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/"link\.bin" points outside the model's folder/) });
  });

  it('a weight file listed twice, or 100 000 times, is refused before any is read', async () => {
    const twice = await modelDir('twice', (m) => (m.paths = ['weights.bin', 'weights.bin']));
    expect(await refusal(loadModel(twice))).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/"weights\.bin" is listed more than once/) });
    const many = await modelDir('repeated', (m) => (m.paths = Array(100_000).fill('weights.bin')));
    const started = performance.now();
    expect(await refusal(loadModel(many))).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/lists 100000 weight files, more than the 10000 graft reads/) });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('a model.json nested 10 000 deep is refused', async () => {
    const dir = path.join(root, 'deep');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'model.json'), `{"modelTopology": ${'['.repeat(10_000)}${']'.repeat(10_000)}, "weightsManifest": []}`);
    expect(await refusal(loadModel(dir))).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/nests deeper than 200 levels/) });
  });

  it('a manifest declaring 2^62 bytes of weights is refused without reading them', async () => {
    const dir = await modelDir('huge', () => undefined);
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
    json.weightsManifest[0].weights[0].shape = [2 ** 31, 2 ** 31];
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    expect(await refusal(loadModel(dir))).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/declares more than 2\^53 bytes/) });
  });

  it('leaves no tensors behind', () => {
    expect(tf.memory().numTensors).toBe(0);
  });
});

describe('untrusted run.json and experiment files', () => {
  it('a run.json nested 100 deep is refused', async () => {
    const file = path.join(root, 'deep-run.json');
    writeFileSync(file, JSON.stringify({ ...runInfo(), classNames: JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`) }));
    expect(await refusal(readRunInfo(file))).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/nests deeper than 32 levels/) });
  });

  it('a run.json whose confusion matrix does not match its classes is refused, naming the field', async () => {
    const file = path.join(root, 'bad-run.json');
    const run = runInfo();
    run.metrics!.test!.confusion = Array.from({ length: 1000 }, () => Array<number>(1000).fill(0));
    writeFileSync(file, JSON.stringify(run));
    expect(await refusal(readRunInfo(file))).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/run\.metrics\.test\.confusion should be a 8×8 matrix/) });
  });

  it.each([
    ['alias expansion ("billion laughs")', 'kind: train\na: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n', /anchors and aliases/],
    ['100 000 nested brackets', `kind: train\ntask: ${'['.repeat(100_000)}\n`, /nests more than 16 levels deep/],
    ['a list of 20 000 values', `kind: train\nseeds: [${Array(20_000).fill(1).join(',')}]\n`, /at most 10000 values/],
    ['a custom tag', 'kind: train\ntask: !!js/function "function () {}"\n', /custom tags are not used|unsupported value/],
  ])('an experiment file with %s is refused', (_what, text, reason) => {
    const started = performance.now();
    expect(() => parseConfigText(text, 'hostile.yaml')).toThrow(reason);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('decompression bombs in data files', () => {
  it('a PNG claiming 6000×6000 over a few hundred bytes is refused before decoding', async () => {
    const png = encodePng(16, 12, gradient(16, 12));
    new DataView(png.buffer).setUint32(16, 6000);
    new DataView(png.buffer).setUint32(20, 6000);
    const before = process.memoryUsage().arrayBuffers;
    expect(await refusal(() => decodeImage(fixCrcs(png), 'bomb.png'))).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringMatching(/cannot inflate to more than/) });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * MiB);
  });

  it('a JPEG claiming 6000×6000 over a few hundred bytes is refused before decoding', async () => {
    const jpeg = encodeJpeg(16, 12, gradient(16, 12));
    jpeg.set([6000 >> 8, 6000 & 0xff, 6000 >> 8, 6000 & 0xff], jpegFrameAt(jpeg) + 5);
    expect(await refusal(() => decodeImage(jpeg, 'bomb.jpg'))).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringMatching(/can hold at most \d+ blocks/) });
  });

  it('a gzip bomb stops at the output limit', async () => {
    const bomb = gzipSync(new Uint8Array(4 * MiB));
    expect(bomb.length).toBeLessThan(8192);
    expect(await refusal(() => maybeGunzip(new Uint8Array(bomb), 'bomb.gz', MiB))).toMatchObject({ code: 'DATA_CORRUPT', message: expect.stringMatching(/decompresses to more than 1048576 bytes/) });
  });
});
