import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteRowStore } from '../../app/byte-rows.js';
import { probabilitiesOf, readSamples, testImagesToSend } from '../../app/test-scores.js';
import { initBackend } from '../../src/engine/backend.js';
import type { Dataset } from '../../src/data/dataset.js';
import { take } from '../../src/data/dataset.js';
import { normalizePixels } from '../../src/data/normalize.js';
import { gatherSamples } from '../../src/data/rows.js';
import { GraftError } from '../../src/errors.js';
import { predictArrays } from '../../src/platform/browser/predict-arrays.js';
import { disposeModel } from '../../src/models/dispose.js';
import { Rng } from '../../src/engine/rng.js';

/**
 * The app's byte rows (app/byte-rows.ts) against the float32 dataset graft would hold otherwise:
 * every read, selection and scaling must give the same floats, bit for bit, while the store keeps
 * bytes in chunks.
 */
const SHAPE = [3, 2, 3];
const SIZE = 18;
const COUNT = 11;
/** Rows per chunk small enough that the rows span several chunks. */
const CHUNK_ROWS = 4;

function images(): Uint8Array[] {
  const rng = new Rng(7);
  return Array.from({ length: COUNT }, () => Uint8Array.from({ length: SIZE }, () => rng.int(256)));
}

function both(rows: Uint8Array[]): { bytes: Dataset; floats: Dataset; store: ByteRowStore } {
  const store = new ByteRowStore(SIZE, CHUNK_ROWS * SIZE);
  for (const r of rows) store.push(r);
  const y = Int32Array.from(rows, (_, i) => i % 3);
  const common = { y, sampleShape: SHAPE, classNames: ['a', 'b', 'c'], pixelRange: 'raw' as const, source: 'test' };
  const x = new Float32Array(COUNT * SIZE);
  rows.forEach((r, i) => x.set(r, i * SIZE));
  return { bytes: { ...common, x: new Float32Array(0), rows: store.rows() }, floats: { ...common, x }, store };
}

/** Every sample of a dataset, read as graft's training loop reads them (gatherSamples, in a given order). */
function gathered(ds: Dataset, order: ArrayLike<number>): number[] {
  return Array.from(gatherSamples(ds, order, 0, order.length, new Float32Array(order.length * SIZE)));
}

const identity = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

describe('ByteRowStore and its SampleRows', () => {
  it('reads, in any order, the same floats as the float32 dataset, and keeps rows in chunks', () => {
    const { bytes, floats, store } = both(images());
    const order = Int32Array.from([10, 0, 4, 3, 4, 9]);
    expect(gathered(bytes, order)).toEqual(gathered(floats, order));
    expect(gathered(bytes, identity(COUNT))).toEqual(Array.from(floats.x));
    expect(store.count).toBe(COUNT);
    expect(store.bytes).toBe(Math.ceil(COUNT / CHUNK_ROWS) * CHUNK_ROWS * SIZE);
  });

  it('normalizePixels divides as it reads: the same float32 values as dividing the float dataset', () => {
    const { bytes, floats } = both(images());
    const b = normalizePixels(bytes);
    const f = normalizePixels(floats);
    expect(b.pixelRange).toBe('unit');
    expect(b.x.length).toBe(0);
    expect(gathered(b, identity(COUNT))).toEqual(Array.from(f.x));
  });

  it('select (through take) picks the same samples as the float dataset, also a selection of a selection, without copying pixels', () => {
    const { bytes, floats, store } = both(images());
    const before = store.bytes;
    const first = [9, 2, 2, 7, 5, 0];
    const b = take(normalizePixels(bytes), first);
    const f = take(normalizePixels(floats), first);
    expect(Array.from(b.y)).toEqual(Array.from(f.y));
    expect(gathered(b, identity(first.length))).toEqual(Array.from(f.x));
    const second = [4, 1, 0];
    expect(gathered(take(b, second), identity(second.length))).toEqual(Array.from(take(f, second).x));
    expect(store.bytes).toBe(before);
  });

  it('pushRgba keeps red, green and blue and drops alpha', () => {
    const store = new ByteRowStore(6);
    store.pushRgba(Uint8ClampedArray.from([1, 2, 3, 99, 4, 5, 6, 98]));
    expect(Array.from(store.row(0))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses rows that do not exist, a short buffer and a wrong-sized image, with GraftErrors that say what to pass', () => {
    const { bytes } = both(images());
    const rows = bytes.rows!;
    expect(() => rows.read([COUNT], 0, 1, new Float32Array(SIZE))).toThrow(GraftError);
    expect(() => rows.read([0, 1], 0, 2, new Float32Array(SIZE))).toThrow(/needs 36 floats; the buffer holds 18/);
    expect(() => rows.select([-1])).toThrow(/Row -1 does not exist/);
    expect(() => new ByteRowStore(6).pushRgba(new Uint8ClampedArray(4))).toThrow(/must hold 8 values; received 4/);
  });
});

describe('the app test set read through byte rows', () => {
  let model: tfl.LayersModel;
  beforeAll(async () => {
    await initBackend('cpu');
    model = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: SHAPE }), tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: 'glorotUniform' })] });
  });
  afterAll(() => disposeModel(model));

  it('probabilitiesOf, reading the rows in chunks, equals predictArrays on the float dataset; readSamples returns the pixels', () => {
    const { bytes, floats } = both(images());
    const b = normalizePixels(bytes);
    const f = normalizePixels(floats);
    expect(Array.from(readSamples(b, 2, 5))).toEqual(Array.from(f.x.subarray(2 * SIZE, 5 * SIZE)));
    const expected = Array.from(predictArrays(model, f.x, SHAPE));
    expect(Array.from(probabilitiesOf(model, b))).toEqual(expected);
    // Three samples per read: four reads, the last one short.
    expect(Array.from(probabilitiesOf(model, b, 3 * SIZE))).toEqual(expected);
  });

  it('testImagesToSend sends the whole test set under the limit, and only the shown images, renumbered, over it', () => {
    const b = normalizePixels(both(images()).bytes);
    const probabilities = Float32Array.from({ length: COUNT * 3 }, (_, i) => i);
    const wrong = [6, 1];
    const whole = testImagesToSend(b, probabilities, wrong, COUNT * SIZE * 4);
    expect(whole.testX.length).toBe(COUNT * SIZE);
    expect(whole.wrong).toEqual(wrong);
    const few = testImagesToSend(b, probabilities, wrong, COUNT * SIZE * 4 - 1);
    expect(few.wrong).toEqual([0, 1]);
    expect(Array.from(few.testX)).toEqual([...readSamples(b, 6, 7), ...readSamples(b, 1, 2)]);
    expect(Array.from(few.testY)).toEqual([b.y[6], b.y[1]]);
    expect(Array.from(few.probabilities)).toEqual([18, 19, 20, 3, 4, 5]);
  });
});
