import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../src/engine/rng.js';
import type { Dataset } from '../src/data/dataset.js';
import { initBackend } from '../src/engine/backend.js';
import { expect } from 'vitest';
import { GraftError } from '../src/errors.js';
import type { RunInfo } from '../src/io/run-dir.js';

export async function useBackend(): Promise<void> {
  await initBackend((process.env.GRAFT_TEST_BACKEND as 'wasm' | 'cpu' | undefined) ?? 'wasm');
}

/**
 * A learnable synthetic task: class k has a bright square in region k of the image, plus noise.
 * Values are already in [0, 1] (pixelRange 'unit').
 */
export function syntheticDataset(n: number, classes: number, seed: number, side = 8): Dataset {
  const rng = new Rng(seed);
  const size = side * side;
  const x = new Float32Array(n * size);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % classes;
    y[i] = label;
    for (let j = 0; j < size; j++) x[i * size + j] = rng.next() * 0.3;
    const row = Math.floor((label * side) / classes);
    for (let c = 0; c < side; c++) x[i * size + row * side + c] = 0.7 + rng.next() * 0.3;
  }
  return { x, y, sampleShape: [side, side], classNames: Array.from({ length: classes }, (_, k) => `c${k}`), pixelRange: 'unit', source: `synthetic-${classes}` };
}

/** n RGB images of uniform noise (side × side × 3, values in [0, 1]), labels cycling through the classes. */
export function noiseImages(n: number, classes: number, seed: number, side: number): Dataset {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: n * side * side * 3 }, () => rng.next());
  const y = Int32Array.from({ length: n }, (_, i) => i % classes);
  return { x, y, sampleShape: [side, side, 3], classNames: Array.from({ length: classes }, (_, i) => `c${i}`), pixelRange: 'unit', source: `noise-${seed}` };
}

/** Copies of every weight's values, by the weight's original name (e.g. "hidden/kernel"). */
export function weightValues(model: tfl.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, Float32Array.from(w.read().dataSync() as Float32Array)]));
}

export function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

export function liveTensors(): number {
  return tf.memory().numTensors;
}

/** Awaits `p`, expecting a GraftError with `code`; returns it for further checks. */
export async function rejectsWith(p: Promise<unknown>, code: string): Promise<GraftError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GraftError);
    expect((e as GraftError).code).toBe(code);
    return e as GraftError;
  }
  throw new Error(`expected a ${code} error`);
}

/** Runs `f`, expecting it to throw a GraftError synchronously; returns it for further checks. */
export function thrown(f: () => unknown): GraftError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(GraftError);
    return e as GraftError;
  }
  throw new Error('expected a GraftError');
}

/** run.json for a run a test saves (fixed versions and date); `over` sets what the test checks. */
export function testRunInfo(over: Partial<RunInfo> = {}): RunInfo {
  return {
    graftVersion: 'test',
    tfjsVersion: 'test',
    createdAt: new Date(0).toISOString(),
    kind: 'train',
    task: 'synthetic',
    classNames: ['a', 'b'],
    sampleShape: [4, 4],
    preprocessing: { pixelScale: 1 },
    seed: 0,
    backend: 'wasm',
    phases: [],
    ...over,
  };
}
