import { Rng } from '../../src/engine/rng.js';
import { expect } from 'vitest';
import type * as tfl from '@tensorflow/tfjs-layers';
import { fit, type FitOptions } from '../../src/train/fit.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { FitResult } from '../../src/train/types.js';
import { weightValues } from '../helpers.js';

export interface EnginePair {
  ra: FitResult;
  rb: FitResult;
  wa: Map<string, Float32Array>;
  wb: Map<string, Float32Array>;
}

/** Trains two copies of a model from the same weights: one on TF.js (a), one on onnxruntime (b). */
export async function trainOnBoth(make: () => tfl.LayersModel, data: Dataset, options: FitOptions, prepare?: (m: tfl.LayersModel) => void): Promise<EnginePair> {
  const a = make();
  const b = make();
  prepare?.(a);
  prepare?.(b);
  b.setWeights(a.getWeights());
  const ra = await fit(a, data, { ...options, engine: 'tfjs' });
  const rb = await fit(b, data, { ...options, engine: 'onnxruntime' });
  expect(ra.engine?.engine).toBe('tfjs');
  expect(rb.engine?.engine).toBe('onnxruntime');
  return { ra, rb, wa: weightValues(a), wb: weightValues(b) };
}

/**
 * Same epoch losses (1e-4 relative: float32 sums over batches in another order) and same final
 * weights: the largest difference within `weightTolerance` of the weight's largest value.
 */
export function expectSameTraining(r: EnginePair, what: string, o: { weightTolerance?: number; skip?: readonly string[] } = {}): void {
  const tolerance = o.weightTolerance ?? 2e-5;
  const la = r.ra.history.map((e) => e.loss);
  const lb = r.rb.history.map((e) => e.loss);
  expect(lb.length, what).toBe(la.length);
  la.forEach((l, i) => expect(Math.abs(lb[i]! - l) / Math.max(1e-3, Math.abs(l)), `${what}: loss of epoch ${i + 1}: ${l} vs ${lb[i]}`).toBeLessThan(1e-4));
  r.ra.history.forEach((e, i) => expect(r.rb.history[i]!.accuracy, `${what}: accuracy of epoch ${i + 1}`).toBeCloseTo(e.accuracy, 6));
  const off: string[] = [];
  for (const [name, wa] of r.wa) {
    if (o.skip?.includes(name)) continue;
    const wb = r.wb.get(name)!;
    let scale = 1e-3;
    let worst = 0;
    for (let i = 0; i < wa.length; i++) {
      scale = Math.max(scale, Math.abs(wa[i]!));
      worst = Math.max(worst, Math.abs(wa[i]! - wb[i]!));
    }
    if (worst / scale >= tolerance) off.push(`${name} differs by ${worst} (largest value ${scale})`);
  }
  expect(off, what).toEqual([]);
}

/** Random images whose class shifts one channel's mean (learnable, with BatchNorm-friendly spread). */
export function images(n: number, shape: number[], classes: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const c = shape[shape.length - 1]!;
  const x = new Float32Array(n * size);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % classes;
    for (let j = 0; j < size; j++) x[i * size + j] = rng.next() * 2 - 1 + (j % c === y[i]! % c ? 0.5 : 0);
  }
  return { x, y, sampleShape: shape, classNames: Array.from({ length: classes }, (_, k) => `c${k}`), pixelRange: 'features', source: 'images' };
}
