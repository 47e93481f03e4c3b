import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { RawImage } from '../../src/data/image.js';
import { invariant } from './harness.js';

/** An accepted image must be internally consistent: positive integer size, data of exactly that size. */
export function checkImage(img: RawImage): void {
  invariant(Number.isInteger(img.width) && img.width > 0 && Number.isInteger(img.height) && img.height > 0, `size ${img.width}×${img.height}`);
  invariant(img.data.length === img.width * img.height * img.channels, `${img.data.length} bytes for ${img.width}×${img.height}×${img.channels}`);
}

/** FNV-1a over bytes, for fingerprints: two parses of the same input must agree. */
export function hashBytes(data: ArrayBufferView): string {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  return h.toString(16);
}

/** Size and a hash of the pixels. */
export function imageFingerprint(img: RawImage): string {
  return `${img.width}×${img.height}×${img.channels} ${hashBytes(img.data)}`;
}

/** Dimensions a hostile header claims: zero, one, the 16- and 32-bit edges, and large-but-plausible sizes. */
export const HOSTILE_SIDES = [0, 1, 6000, 0x7fff, 0x8000, 0xffff, 100_000, 0x7fffffff, 0x80000000, 0xffffffff] as const;

/**
 * An accepted model must run: every input dimension a whole number ≥ 1 (null batch taken as 1),
 * and one forward pass on zeros (skipped when a mutation made the input legal but huge).
 */
export function checkModelRuns(model: tfl.LayersModel): void {
  const shapes = model.inputs.map((i) => i.shape.map((d) => d ?? 1));
  invariant(shapes.every((s) => s.every((d) => Number.isSafeInteger(d) && d > 0)), `input shapes ${JSON.stringify(shapes)}`);
  if (shapes.some((s) => s.reduce((a, b) => a * b, 1) > 1e6)) return;
  tf.tidy(() => {
    const out = model.predict(shapes.map((s) => tf.zeros(s)));
    for (const t of Array.isArray(out) ? out : [out]) invariant(t.shape.every((d) => d > 0), `output shape [${t.shape.join(', ')}]`);
  });
}
