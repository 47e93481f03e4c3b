import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitImage, type ResizeMode } from '../../src/data/image-convert.js';
import { Rng } from '../../src/engine/rng.js';
import { exportModel } from '../../src/io/export-model.js';
import { decodeImage } from '../../src/io/image-decode.js';
import { loadModel, type LoadedModel } from '../../src/io/run-dir.js';
import { applyPreprocess } from '../../src/models/preprocess.js';
import { predictFiles, predictPreprocessing, type Prediction } from '../../src/workflows/predict.js';
import { encodeJpeg, encodePng } from '../io/image-fixtures.js';
import { liveTensors, useBackend } from '../helpers.js';
import { bandImage, colourImage, GREY_CLASSES, makePredictRuns, RGB_CLASSES } from './predict-fixtures.js';

const root = mkdtempSync(path.join(tmpdir(), 'graft-predict-'));
let runs: { rgb: string; grey: string };
let rgb: LoadedModel;
let grey: LoadedModel;

/** Writes `bytes` at root/rel (folders made), returns the path. */
function put(rel: string, bytes: Uint8Array | string): string {
  const file = path.join(root, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, bytes);
  return file;
}

const greyToRgb = (g: Uint8Array): Uint8Array => Uint8Array.from({ length: g.length * 3 }, (_, i) => g[Math.floor(i / 3)]!);
const rgba = (rgb: Uint8Array, alpha: number): Uint8Array => Uint8Array.from({ length: (rgb.length / 3) * 4 }, (_, i) => (i % 4 === 3 ? alpha : rgb[Math.floor(i / 4) * 3 + (i % 4)]!));

function idxImages(images: Uint8Array[], h: number, w: number): Uint8Array {
  const head = new Uint8Array(16);
  const view = new DataView(head.buffer);
  head.set([0, 0, 8, 3]);
  view.setUint32(4, images.length);
  view.setUint32(8, h);
  view.setUint32(12, w);
  return Uint8Array.from([...head, ...images.flatMap((i) => [...i])]);
}

/** What the model says for pixels fitted here, independently of predict: fitImage with `mode`, × scale. */
function expected(loaded: LoadedModel, file: string, mode: ResizeMode, scale = 1 / 255): Float32Array {
  const [h, w, c] = loaded.model.inputs[0]!.shape.slice(1) as number[];
  const fitted = fitImage(decodeImage(readFileSync(file), file), w!, h!, (c ?? 1) as 1 | 3, mode).data;
  return tf.tidy(() => {
    const out = loaded.model.predict(tf.tensor(Float32Array.from(fitted, (v) => v * scale), [1, ...(loaded.model.inputs[0]!.shape.slice(1) as number[])])) as tf.Tensor;
    const p = out.dataSync() as Float32Array;
    return p.length === 1 ? Float32Array.from([1 - p[0]!, p[0]!]) : Float32Array.from(p);
  });
}

function expectClose(got: readonly number[] | undefined, want: Float32Array, tol = 1e-6): void {
  expect(got).toHaveLength(want.length);
  got!.forEach((g, i) => expect(Math.abs(g - want[i]!), `class ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol));
}

const best = (r: Prediction | undefined): string | undefined => r?.predictions?.[0]?.class;

beforeAll(async () => {
  await useBackend();
  runs = await makePredictRuns(root);
  rgb = await loadModel(runs.rgb);
  grey = await loadModel(runs.grey);
}, 300_000);

afterAll(() => {
  rgb?.model.dispose();
  grey?.model.dispose();
  rmSync(root, { recursive: true, force: true });
});

const optsFor = (m: LoadedModel, resize?: ResizeMode) => {
  const p = predictPreprocessing(m.model, m.run, resize);
  return { classNames: m.run?.classNames ?? [], pixelScale: p.pixelScale, resize: p.resize };
};

describe('predict on an RGB model', () => {
  it('keeps colour: red, green and blue photos of other sizes (PNG RGB, RGBA, JPEG) are told apart', async () => {
    const rng = new Rng(11);
    const files = [
      put('rgb/red.png', encodePng(40, 24, colourImage(40, 24, 0, rng))),
      put('rgb/green.jpg', encodeJpeg(20, 30, colourImage(20, 30, 1, rng), 95)),
      put('rgb/blue.png', encodePng(16, 16, colourImage(16, 16, 2, rng))),
    ];
    const before = liveTensors();
    const { results } = await predictFiles(rgb.model, files, optsFor(rgb));
    expect(liveTensors()).toBe(before);
    expect(results.map(best)).toEqual(RGB_CLASSES);
    for (const r of results) {
      expect(r.predictions).toHaveLength(3);
      expect(r.probabilities!.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
      expect(r.predictions!.map((p) => p.probability)).toEqual([...r.predictions!.map((p) => p.probability)].sort((a, b) => b - a));
    }
  });

  it("fits each image with the run's recorded resize (crop) and pixel scale, exactly; --resize overrides it", async () => {
    const rng = new Rng(12);
    // Wide image: its centre is red, its left and right thirds blue, so crop and squash see different pictures.
    const w = 48;
    const h = 16;
    const img = colourImage(w, h, 0, rng);
    const blue = colourImage(w, h, 2, rng);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (x < 16 || x >= 32) img.set(blue.subarray((y * w + x) * 3, (y * w + x) * 3 + 3), (y * w + x) * 3);
    const file = put('rgb/wide.png', encodePng(w, h, img));
    expect(rgb.run?.preprocessing.resize).toBe('crop');
    const [crop] = (await predictFiles(rgb.model, [file], optsFor(rgb))).results;
    expectClose(crop!.probabilities, expected(rgb, file, 'crop'));
    expect(best(crop)).toBe('red');
    const [squash] = (await predictFiles(rgb.model, [file], optsFor(rgb, 'squash'))).results;
    expectClose(squash!.probabilities, expected(rgb, file, 'squash'));
    expect(Math.abs(squash!.probabilities![0]! - crop!.probabilities![0]!)).toBeGreaterThan(1e-3);
  });

  it('a grey PNG and an IDX file (grey 28×28) go to the RGB model as grey RGB', async () => {
    const rng = new Rng(13);
    const g = bandImage(16, 16, 0, rng);
    const file = put('rgb/grey.png', encodePng(16, 16, greyToRgb(g), true));
    const [r] = (await predictFiles(rgb.model, [file], optsFor(rgb))).results;
    expectClose(r!.probabilities, expected(rgb, file, 'crop'));
    const idx = put('rgb/images.idx', idxImages([bandImage(28, 28, 0, rng), bandImage(28, 28, 1, rng)], 28, 28));
    const out = (await predictFiles(rgb.model, [idx], optsFor(rgb))).results;
    expect(out.map((e) => [e.file, e.index, e.error])).toEqual([[idx, 0, undefined], [idx, 1, undefined]]);
  });
  it('WebP, BMP and GIF photos go through the same path, told apart by content even under a wrong name', async () => {
    const fixtures = path.resolve(__dirname, '../io/format-fixtures');
    const files = [
      put('formats/photo.webp', readFileSync(path.join(fixtures, 'exif-1.webp'))),
      put('formats/bmp-named.png', readFileSync(path.join(fixtures, 'bmp-24.bmp'))),
      put('formats/gif-named.jpg', readFileSync(path.join(fixtures, 'gif-palette.gif'))),
    ];
    const { results } = await predictFiles(rgb.model, files, optsFor(rgb));
    results.forEach((r, i) => {
      expect(r.error, files[i]).toBeUndefined();
      expectClose(r.probabilities, expected(rgb, files[i]!, 'crop'));
    });
  });
});

describe('predict on a grayscale model', () => {
  it('colour PNG and JPEG of other sizes are made grey and fitted by the run (no resize recorded: squash)', async () => {
    const rng = new Rng(21);
    const top = put('grey/top.png', encodePng(56, 40, greyToRgb(bandImage(56, 40, 0, rng))));
    const bottom = put('grey/bottom.jpg', encodeJpeg(30, 60, greyToRgb(bandImage(30, 60, 1, rng)), 95));
    expect(grey.run?.preprocessing.resize).toBeUndefined();
    const { results } = await predictFiles(grey.model, [top, bottom], optsFor(grey));
    expect(results.map(best)).toEqual(GREY_CLASSES);
    expectClose(results[0]!.probabilities, expected(grey, top, 'squash'));
    expectClose(results[1]!.probabilities, expected(grey, bottom, 'squash'));
    // A sigmoid head: two classes, so the default top is 2.
    expect(results[0]!.predictions).toHaveLength(2);
  });

  it('IDX files, raw and gzipped, give one entry per image, decided by content whatever the name', async () => {
    const rng = new Rng(22);
    const images = [bandImage(28, 28, 0, rng), bandImage(28, 28, 1, rng), bandImage(28, 28, 1, rng)];
    const raw = put('grey/images-idx3-ubyte', idxImages(images, 28, 28));
    const gz = put('grey/images.png', gzipSync(idxImages(images, 28, 28)));
    const { results } = await predictFiles(grey.model, [raw, gz], optsFor(grey));
    expect(results.map((r) => [r.file, r.index, best(r)])).toEqual([
      [raw, 0, 'top'], [raw, 1, 'bottom'], [raw, 2, 'bottom'],
      [gz, 0, 'top'], [gz, 1, 'bottom'], [gz, 2, 'bottom'],
    ]);
    expect(results[3]!.probabilities).toEqual(results[0]!.probabilities);
  });

  it('a damaged IDX file is described, never with advice to delete it', async () => {
    const full = idxImages([bandImage(28, 28, 0, new Rng(1))], 28, 28);
    const cut = put('grey/cut-idx3-ubyte', full.subarray(0, 400));
    const gzCut = put('grey/cut-idx3-ubyte.gz', gzipSync(full).subarray(0, 200));
    const gzText = put('grey/notes.gz', gzipSync('some notes\n'));
    const gzBroken = put('grey/broken.gz', Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff]));
    const results = (await predictFiles(grey.model, [cut, gzCut, gzText, gzBroken], optsFor(grey))).results;
    expect(results.map((r) => r.error?.code)).toEqual(['DATA_CORRUPT', 'DATA_CORRUPT', 'BAD_ARGUMENT', 'BAD_ARGUMENT']);
    const [m0, m1, m2, m3] = results.map((r) => r.error?.message ?? '');
    expect(m0).toMatch(/cut-idx3-ubyte: header dims \[1, 28, 28\] need 784 data bytes but only 384 are present \(truncated file\)\. The file is damaged or was cut short/);
    expect(m1).toMatch(/cut-idx3-ubyte\.gz: gzip data could not be decompressed/);
    expect(m2).toContain('notes.gz is a gzip-compressed file holding a text file, not IDX image data');
    expect(m3).toContain('broken.gz is a gzip-compressed file holding damaged data that cannot be decompressed');
    for (const m of [m0, m1, m2, m3]) expect(m).not.toMatch(/delete/i);
  });
});

describe('bad files among good ones', () => {
  it('a PNG claiming 100000×100000 pixels, symlink loops and a link to its own folder: reported or skipped, no hang, no big allocation', async () => {
    const good = encodePng(16, 16, colourImage(16, 16, 2, new Rng(32)));
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(16, 100_000);
    new DataView(huge.buffer).setUint32(20, 100_000);
    const dir = path.join(root, 'loops');
    put('loops/a-good.png', good);
    put('loops/b-huge.png', huge);
    symlinkSync('c-loop.png', path.join(dir, 'c-loop.png'));
    symlinkSync('.', path.join(dir, 'd-self'));
    symlinkSync('e-ping', path.join(dir, 'e-pong'));
    symlinkSync('e-pong', path.join(dir, 'e-ping'));
    const rss = process.memoryUsage().rss;
    const t0 = Date.now();
    const { results, skipped } = await predictFiles(rgb.model, [dir], optsFor(rgb));
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 2 ** 20);
    expect(results.map((r) => [path.basename(r.file), best(r) ?? r.error?.message])).toEqual([
      ['a-good.png', 'blue'],
      ['b-huge.png', expect.stringContaining('header says the image is 100000×100000 pixels, more than graft\'s limit')],
      ['c-loop.png', expect.stringContaining('c-loop.png is a symbolic link loop')],
    ]);
    // Not named like images: the folder link and the loop pair are skipped, never walked into.
    expect(skipped.map((f) => path.basename(f))).toEqual(['d-self', 'e-ping', 'e-pong']);
  });

  it('each bad file is reported in its own entry, saying what it is; the good ones are still predicted', async () => {
    const rng = new Rng(31);
    const good = encodePng(16, 16, colourImage(16, 16, 1, rng));
    const jpg = encodeJpeg(16, 16, colourImage(16, 16, 0, rng), 90);
    const files = [
      put('bad/1-good.png', good),
      put('bad/2-text.jpg', 'Holiday photos are in the other folder.\n'),
      put('bad/3-zip.png', zipSync({ 'a.txt': new TextEncoder().encode('hello') })),
      put('bad/4-empty.png', new Uint8Array(0)),
      put('bad/5-cut.png', good.subarray(0, Math.floor(good.length / 2))),
      put('bad/6-cut.jpg', jpg.subarray(0, Math.floor(jpg.length / 2))),
      put('bad/7-good.jpg', jpg),
      path.join(root, 'bad/8-missing.png'),
    ];
    const { results } = await predictFiles(rgb.model, files, optsFor(rgb));
    expect(results.map((r) => r.file)).toEqual(files);
    expect(results.map(best)).toEqual(['green', undefined, undefined, undefined, undefined, undefined, 'red', undefined]);
    const messages = results.map((r) => r.error?.message ?? '');
    expect(messages[1]).toContain('2-text.jpg is a text file, not an image or an IDX file');
    expect(messages[2]).toContain('3-zip.png is a zip archive, not an image or an IDX file');
    expect(messages[3]).toContain('4-empty.png is an empty file, not an image or an IDX file');
    expect(messages[4]).toMatch(/5-cut\.png: PNG .*truncated/);
    expect(results[4]!.error?.code).toBe('DATA_CORRUPT');
    expect(messages[5]).toMatch(/6-cut\.jpg: .*JPEG/);
    expect(messages[7]).toContain('No file or folder at');
    for (const m of messages) expect(m).not.toMatch(/delete|IDX file.*damaged/i);
  });
});

describe('folders and patterns', () => {
  const rng = new Rng(41);
  let dir: string;
  beforeAll(() => {
    dir = path.join(root, 'photos');
    put('photos/b.png', encodePng(16, 16, colourImage(16, 16, 2, rng)));
    put('photos/a.jpg', encodeJpeg(16, 16, colourImage(16, 16, 0, rng), 95));
    put('photos/sub/deeper/c.png', encodePng(20, 20, colourImage(20, 20, 1, rng)));
    put('photos/sub/d.JPG', encodeJpeg(16, 16, colourImage(16, 16, 1, rng), 95));
    put('photos/README.txt', 'my photos\n');
    put('photos/.hidden.png', encodePng(16, 16, colourImage(16, 16, 0, rng)));
    put('photos/broken.jpg', 'not a jpeg');
    put('photos/no-extension', encodePng(16, 16, colourImage(16, 16, 2, rng)));
  });

  it('a folder gives its images at any depth, sorted by path; non-images are skipped and counted, a broken .jpg reported', async () => {
    const { results, skipped } = await predictFiles(rgb.model, [dir], optsFor(rgb));
    expect(results.map((r) => [path.relative(dir, r.file), best(r) ?? 'error'])).toEqual([
      ['a.jpg', 'red'],
      ['b.png', 'blue'],
      ['broken.jpg', 'error'],
      ['no-extension', 'blue'],
      ['sub/d.JPG', 'green'],
      ['sub/deeper/c.png', 'green'],
    ]);
    expect(skipped).toEqual([path.join(dir, 'README.txt')]);
  });

  it('a folder without images is one error entry naming it', async () => {
    put('empty-ish/notes.txt', 'nothing here\n');
    mkdirSync(path.join(root, 'empty'), { recursive: true });
    const { results } = await predictFiles(rgb.model, [path.join(root, 'empty-ish'), path.join(root, 'empty')], optsFor(rgb));
    expect(results.map((r) => r.error?.message)).toEqual([
      expect.stringContaining("empty-ish holds no images: its only file is neither an image nor an IDX file (e.g. "),
      expect.stringContaining('holds no files'),
    ]);
  });

  it("patterns are expanded by graft: '*.png', '**/*.{png,JPG}', '?', and one that matches nothing", async () => {
    const names = async (pattern: string): Promise<string[]> => (await predictFiles(rgb.model, [pattern], optsFor(rgb))).results.map((r) => (r.error ? `error: ${r.error.message}` : path.relative(dir, r.file)));
    expect(await names(path.join(dir, '*.png'))).toEqual(['b.png']);
    expect(await names(path.join(dir, '**/*.{png,JPG}'))).toEqual(['b.png', 'sub/d.JPG', 'sub/deeper/c.png']);
    expect(await names(path.join(dir, 's?b/*'))).toEqual(['sub/d.JPG', 'sub/deeper/c.png']);
    expect(await names(path.join(dir, '*.gif'))).toEqual([expect.stringMatching(/^error: No file matches the pattern .*\*\.gif/)]);
    // Relative patterns are resolved from the working folder, as typed.
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect((await predictFiles(rgb.model, ['*.jpg'], optsFor(rgb))).results.map((r) => r.file)).toEqual(['a.jpg', 'broken.jpg']);
    } finally {
      process.chdir(cwd);
    }
  });

  it('predicts in chunks: one model call per chunk, results independent of the chunk size', async () => {
    const whole = await predictFiles(rgb.model, [dir], { ...optsFor(rgb), chunk: 64 });
    const calls: number[] = [];
    const small = await predictFiles(rgb.model, [dir], { ...optsFor(rgb), chunk: 2, onChunk: (n) => calls.push(n) });
    // 5 images (the broken .jpg holds no place in a chunk): 2 + 2 + 1.
    expect(calls).toEqual([2, 2, 1]);
    expect(small.results.map((r) => r.probabilities)).toEqual(whole.results.map((r) => r.probabilities));
  });
});

describe('models without run.json', () => {
  it('an exported .keras file of the run predicts with crop and /255, the same as the run with --resize crop', async () => {
    const file = path.join(root, 'grey.keras');
    await exportModel(grey.model, file);
    const k = await loadModel(file);
    try {
      const prep = predictPreprocessing(k.model, k.run);
      expect(prep).toMatchObject({ pixelScale: 1 / 255, resize: 'crop' });
      const img = put('keras/top.png', encodePng(40, 28, greyToRgb(bandImage(40, 28, 0, new Rng(51)))));
      const [a] = (await predictFiles(k.model, [img], optsFor(k))).results;
      const [b] = (await predictFiles(grey.model, [img], optsFor(grey, 'crop'))).results;
      expect(a!.probabilities).toEqual(b!.probabilities);
      expect(a!.predictions![0]!.class).toBe('class 0');
    } finally {
      k.model.dispose();
    }
  });

  it("a model whose first layer is a Rescaling gets 0..255 pixels; graft's own preprocess layer (a Rescaling too) gets [0, 1]", async () => {
    const build = (first: (x: tfl.SymbolicTensor) => tfl.SymbolicTensor): tfl.LayersModel => {
      const input = tfl.input({ shape: [8, 8, 3] });
      const out = tfl.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: 'ones' }).apply(tfl.layers.flatten().apply(first(input))) as tfl.SymbolicTensor;
      return tfl.model({ inputs: input, outputs: out });
    };
    const own = build((x) => tfl.layers.rescaling({ scale: 1 / 255 }).apply(x) as tfl.SymbolicTensor);
    const graftTf = build((x) => applyPreprocess('tf', x));
    const plain = build((x) => x);
    try {
      expect(predictPreprocessing(own, undefined)).toMatchObject({ pixelScale: 1, resize: 'crop', source: expect.stringContaining('Rescaling') });
      expect(predictPreprocessing(graftTf, undefined)).toMatchObject({ pixelScale: 1 / 255 });
      expect(predictPreprocessing(plain, undefined, 'pad')).toMatchObject({ pixelScale: 1 / 255, resize: 'pad' });
      // The run's record wins over the layer rule; --resize over the run.
      expect(predictPreprocessing(own, rgb.run, 'squash')).toMatchObject({ pixelScale: 1 / 255, resize: 'squash', source: 'run.json' });
    } finally {
      for (const m of [own, graftTf, plain]) m.dispose();
    }
  });
});
