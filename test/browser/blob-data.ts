import { Rng } from '../../src/engine/rng.js';

/** Arrays a page would hold: `x` row-major in [0, 1], `y` class indices. Plain arrays pass through playwright. */
export interface BlobArrays {
  x: number[];
  y: number[];
  sampleShape: number[];
  classNames: string[];
}

/**
 * Synthetic `side`×`side` grey images: class k is a bright blob centred at `centres[k]` (row, column)
 * on uniform noise, its position jittered by up to one pixel. Separable by design, so a small model
 * learns it in a few epochs; a model that did not train stays near chance.
 */
export function blobImages(centres: ReadonlyArray<readonly [number, number]>, perClass: number, seed: number, side = 8): BlobArrays {
  const rng = new Rng(seed);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < perClass; i++) {
    centres.forEach(([r0, c0], k) => {
      const r = r0 + rng.int(3) - 1;
      const c = c0 + rng.int(3) - 1;
      for (let row = 0; row < side; row++) {
        for (let col = 0; col < side; col++) {
          const blob = Math.exp(-((row - r) ** 2 + (col - c) ** 2) / 2);
          x.push(Math.min(1, blob + 0.3 * rng.next()));
        }
      }
      y.push(k);
    });
  }
  return { x, y, sampleShape: [side, side], classNames: centres.map((_, k) => `blob ${k}`) };
}
