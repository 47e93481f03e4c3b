// The app's decoding path timed on the bench's images: app/decode.ts (createImageBitmap and an
// OffscreenCanvas, as the app's worker decodes dropped files) over the same JPEGs Node decoded, and
// how far its pixels are from Node's (graft's decoder, bilinear). The transfer runs themselves are
// fed Node's pixels on both sides, so this difference stays out of their times and accuracies.
import { decodeToPixels } from '../../app/decode.js';
import type { DecodeResult, DecodeRun } from './protocol.js';

async function nodePixels(): Promise<Float32Array> {
  const parts = await Promise.all(['/data/train-x.f32', '/data/test-x.f32'].map(async (url) => new Float32Array(await (await fetch(url)).arrayBuffer())));
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

export async function decodeCheck(run: DecodeRun): Promise<DecodeResult> {
  // Files in memory first, as dropped files are: only decoding and resizing are timed.
  const files = await Promise.all(run.urls.map(async (url) => (await fetch(url)).blob()));
  const reference = await nodePixels();
  const size = run.side * run.side * 3;
  const start = performance.now();
  const decoded = [];
  for (const file of files) decoded.push(await decodeToPixels(file, run.side));
  const seconds = (performance.now() - start) / 1000;
  let max = 0;
  let sum = 0;
  decoded.forEach((px, i) => {
    for (let k = 0; k < size; k++) {
      const d = Math.abs(px[k]! - reference[i * size + k]!);
      sum += d;
      if (d > max) max = d;
    }
  });
  return { seconds, images: files.length, maxAbsDiff: max, meanAbsDiff: sum / (files.length * size) };
}
