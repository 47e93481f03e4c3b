import { gzipSync } from 'node:zlib';
import type { Dataset } from '../../src/data/dataset.js';

/** An IDX file of unsigned bytes with the given dims; `data` defaults to i mod 256. */
export function idxBytes(dims: number[], data?: ArrayLike<number>, type = 0x08): Uint8Array {
  const n = dims.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(4 + 4 * dims.length + n);
  out[2] = type;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < n; i++) out[4 + 4 * dims.length + i] = data ? data[i]! : i % 256;
  return out;
}

/** Just a header claiming `dims`, followed by `payload` bytes. */
export function idxHeader(dims: number[], payload: number): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + payload);
  out[2] = 0x08;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  return out;
}

export function gz(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(gzipSync(bytes));
}

/** Fashion-MNIST-shaped image and label files: n images whose first pixel is their label. */
export function fashionFiles(labels: number[]): { images: Uint8Array; labels: Uint8Array } {
  const n = labels.length;
  const pixels = new Uint8Array(n * 784);
  labels.forEach((l, i) => {
    pixels[i * 784] = l;
    pixels[i * 784 + 783] = 255;
  });
  return { images: idxBytes([n, 28, 28], pixels), labels: idxBytes([n], labels) };
}

/** A tiny raw dataset with 10 classes named like Fashion-MNIST; sample i holds [i, label]. */
export function tinyDataset(labels: number[], classNames: readonly string[]): Dataset {
  const x = new Float32Array(labels.length * 2);
  labels.forEach((l, i) => {
    x[2 * i] = i;
    x[2 * i + 1] = l;
  });
  return { x, y: Int32Array.from(labels), sampleShape: [2], classNames, pixelRange: 'raw', source: 'tiny' };
}
