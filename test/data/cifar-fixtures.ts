import { CIFAR10_RECORD_BYTES } from '../../src/data/cifar-binary.js';

/** A batch whose record r has label labels[r] and pixel p of plane k equal to (r + 7k + p) % 256. */
export function cifarBatch(labels: readonly number[]): Uint8Array {
  const out = new Uint8Array(labels.length * CIFAR10_RECORD_BYTES);
  labels.forEach((label, r) => {
    const base = r * CIFAR10_RECORD_BYTES;
    out[base] = label;
    for (let k = 0; k < 3; k++) for (let p = 0; p < 1024; p++) out[base + 1 + k * 1024 + p] = (r + 7 * k + p) % 256;
  });
  return out;
}
