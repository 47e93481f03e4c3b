import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleSize, type Dataset } from '../../src/data/dataset.js';
import { sampleRange } from '../../src/data/rows.js';
import { GraftError } from '../../src/errors.js';
import { prepareTask, type DataOptions } from '../../src/workflows/prepare.js';
import { trainModel } from '../../src/workflows/train-model.js';
import { transferModel } from '../../src/workflows/transfer-model.js';
import { encodePng } from '../io/image-fixtures.js';
import { useBackend, weightValues } from '../helpers.js';

/**
 * Image sets kept on disk (the decode cache, read a batch at a time) must give exactly what the
 * in-memory path gives: the same samples bit for bit in every split, and the same trained weights.
 * The memory this saves is measured by bench/scale.mjs, not here (no timed or sized unit tests).
 */

beforeAll(useBackend);

let root: string;
let folder: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'graft-stream-'));
  folder = path.join(root, 'photos');
  // 3 classes × 24 images of different sizes and patterns, one damaged file among them.
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256);
  ['ant', 'bee', 'cat'].forEach((cls, c) => {
    mkdirSync(path.join(folder, cls), { recursive: true });
    for (let i = 0; i < 24; i++) {
      const w = 10 + (i % 5);
      const h = 9 + (i % 4);
      const rgb = Uint8Array.from({ length: w * h * 3 }, (_, k) => (k % 3 === c ? 200 : 0) + (rand() % 50));
      writeFileSync(path.join(folder, cls, `${i}.png`), encodePng(w, h, rgb));
    }
  });
  writeFileSync(path.join(folder, 'bee', 'broken.png'), 'not a png');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
const cacheDir = (): string => path.join(root, `cache-${n++}`);
const options = (over: Partial<DataOptions>): DataOptions => ({ modelInput: [null, 8, 8, 3], valSplit: 0.2, seed: 3, onNote: () => undefined, ...over });

function samples(ds: Dataset): Float32Array {
  return Float32Array.from(sampleRange(ds, 0, ds.y.length));
}

describe('image sets read from disk', () => {
  it('give the in-memory samples bit for bit, in train, validation and test', async () => {
    const memory = await prepareTask(`folder:${folder}`, options({ stream: false, cacheDir: cacheDir() }));
    const disk = await prepareTask(`folder:${folder}`, options({ stream: true, cacheDir: cacheDir() }));
    for (const part of ['train', 'validation', 'test'] as const) {
      const a = memory[part]!;
      const b = disk[part]!;
      expect(a.rows).toBeUndefined();
      expect(b.rows).toBeDefined();
      expect(b.x.length).toBe(0);
      expect(Array.from(b.y)).toEqual(Array.from(a.y));
      expect(b.pixelRange).toBe('unit');
      expect(samples(b)).toEqual(a.x);
    }
    expect(disk.summary?.skippedCount).toBe(1);
  });

  it('read a cache entry the in-memory path wrote, and a subsample of it', async () => {
    const dir = cacheDir();
    const memory = await prepareTask(`folder:${folder}`, options({ stream: false, cacheDir: dir, perClass: 5 }));
    const disk = await prepareTask(`folder:${folder}`, options({ stream: true, cacheDir: dir, perClass: 5 }));
    expect(disk.train.rows).toBeDefined();
    expect(samples(disk.train)).toEqual(memory.train.x);
  });

  it('train to the same weights as the in-memory sets', async () => {
    const run = async (stream: boolean) => {
      const r = await trainModel({ task: `folder:${folder}`, architecture: 'cnn', image: { height: 8, width: 8 }, epochs: 2, batchSize: 8, seed: 1, stream, cacheDir: cacheDir(), valSplit: 0.2 });
      const w = weightValues(r.model);
      r.model.dispose();
      return { w, test: r.test };
    };
    const memory = await run(false);
    const disk = await run(true);
    expect(disk.test.accuracy).toBe(memory.test.accuracy);
    expect(disk.test.loss).toBe(memory.test.loss);
    for (const [name, values] of memory.w) expect(disk.w.get(name), name).toEqual(values);
    expect(tf.memory().numTensors).toBeLessThan(100);
  });

  it('transfer with the feature cache to the same weights as the in-memory sets (the features replace the image rows)', async () => {
    const source = (await trainModel({ task: `folder:${folder}`, architecture: 'cnn', image: { height: 8, width: 8 }, epochs: 1, batchSize: 8, seed: 2, stream: false, cacheDir: cacheDir(), valSplit: 0.2 })).model;
    const run = async (stream: boolean) => {
      const r = await transferModel({ source, task: `folder:${folder}`, frozen: { epochs: 2 }, unfrozen: { epochs: 1 }, batchSize: 8, seed: 1, stream, cacheDir: cacheDir(), valSplit: 0.2 });
      const w = weightValues(r.model);
      r.model.dispose();
      return { w, test: r.test, cache: r.phases[0]!.featureCache };
    };
    const memory = await run(false);
    const disk = await run(true);
    expect(disk.cache?.images).toBeGreaterThan(0);
    expect(disk.test.accuracy).toBe(memory.test.accuracy);
    for (const [name, values] of memory.w) expect(disk.w.get(name), name).toEqual(values);
    source.dispose();
  });

  it('decode again when the cache entry is damaged, and never trust it', async () => {
    const dir = cacheDir();
    await prepareTask(`folder:${folder}`, options({ stream: true, cacheDir: dir }));
    const [entry] = readdirSync(path.join(dir)).filter((f) => f.endsWith('.bin'));
    const file = path.join(dir, entry!);
    const bytes = readFileSync(file);
    const mid = Math.floor(bytes.length / 2); // inside the pixel block (the header and labels are small)
    bytes[mid] = bytes[mid]! ^ 0xff;
    writeFileSync(file, bytes);
    const fresh = await prepareTask(`folder:${folder}`, options({ stream: false, cacheDir: cacheDir() }));
    const again = await prepareTask(`folder:${folder}`, options({ stream: true, cacheDir: dir }));
    expect(samples(again.train)).toEqual(fresh.train.x);
    expect(readFileSync(file).equals(bytes)).toBe(false);
  });

  it('do not remember a file that could not be read (a FIFO), yet still train on the rest', async () => {
    const dir = cacheDir();
    const fifoFolder = path.join(root, 'with-fifo');
    execFileSync('cp', ['-r', folder, fifoFolder]);
    execFileSync('mkfifo', [path.join(fifoFolder, 'cat', 'pipe.png')]);
    const d = await prepareTask(`folder:${fifoFolder}`, options({ stream: true, cacheDir: dir }));
    expect(d.summary?.skippedCount).toBe(2);
    expect(samples(d.train).length).toBe(d.train.y.length * sampleSize(d.train.sampleShape));
    expect(readdirSync(dir).filter((f) => f.endsWith('.bin'))).toEqual([]);
  });

  it('fall back to memory, saying so, when the cache folder cannot be written', async () => {
    const blocked = path.join(root, 'a-file');
    writeFileSync(blocked, 'x');
    const notes: string[] = [];
    const d = await prepareTask(`folder:${folder}`, options({ stream: true, cacheDir: path.join(blocked, 'cache'), onNote: (l) => notes.push(l) }));
    expect(d.train.rows).toBeUndefined();
    expect(notes.join('\n')).toMatch(/cache cannot be written, so the 73 images are held in memory/);
    expect(existsSync(path.join(blocked, 'cache'))).toBe(false);
  });

  it('follow GRAFT_STREAM_ABOVE_MB, and refuse a value that is not a size', async () => {
    const saved = process.env.GRAFT_STREAM_ABOVE_MB;
    try {
      process.env.GRAFT_STREAM_ABOVE_MB = '0';
      expect((await prepareTask(`folder:${folder}`, options({ cacheDir: cacheDir() }))).train.rows).toBeDefined();
      delete process.env.GRAFT_STREAM_ABOVE_MB;
      expect((await prepareTask(`folder:${folder}`, options({ cacheDir: cacheDir() }))).train.rows).toBeUndefined();
      process.env.GRAFT_STREAM_ABOVE_MB = 'lots';
      await expect(prepareTask(`folder:${folder}`, options({ cacheDir: cacheDir() }))).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/GRAFT_STREAM_ABOVE_MB .* received "lots"/) });
    } finally {
      if (saved === undefined) delete process.env.GRAFT_STREAM_ABOVE_MB;
      else process.env.GRAFT_STREAM_ABOVE_MB = saved;
    }
  });

  it('refuse an index outside the set', async () => {
    const d = await prepareTask(`folder:${folder}`, options({ stream: true, cacheDir: cacheDir() }));
    const out = new Float32Array(sampleSize(d.test.sampleShape));
    expect(() => d.test.rows!.read([d.test.y.length], 0, 1, out)).toThrow(GraftError);
  });
});
