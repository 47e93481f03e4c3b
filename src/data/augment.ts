import { GraftError } from '../errors.js';
import type { Rng } from '../engine/rng.js';

export interface AugmentOptions {
  /** Mirror left-right with probability 1/2. Default false. */
  flip?: boolean;
  /** Largest shift, as a fraction of the image side (e.g. 0.1); edges are repeated. Default 0. */
  shift?: number;
}

/**
 * Light augmentation of images laid out [count, h, w, c] in place: a random mirror and a random
 * shift per image. Returns undefined when nothing is switched on.
 */
export function makeAugmenter(options: AugmentOptions): ((x: Float32Array, count: number, shape: readonly number[], rng: Rng) => void) | undefined {
  const shift = options.shift ?? 0;
  if (!(shift >= 0 && shift < 0.5)) throw new GraftError('BAD_ARGUMENT', `Augmentation shift must be a fraction in [0, 0.5); received ${shift}. Try 0.1.`);
  if (!options.flip && shift === 0) return undefined;
  let scratch = new Float32Array(0);
  return (x, count, shape, rng) => {
    if (shape.length !== 3 && shape.length !== 2) {
      throw new GraftError('BAD_ARGUMENT', `Augmentation works on images ([h, w] or [h, w, c]); received samples of shape [${shape.join(', ')}]. Turn augmentation off for this data.`);
    }
    const [h, w] = shape as [number, number];
    const c = shape[2] ?? 1;
    const size = h * w * c;
    if (scratch.length < size) scratch = new Float32Array(size);
    const maxY = Math.round(shift * h);
    const maxX = Math.round(shift * w);
    for (let n = 0; n < count; n++) {
      const mirror = options.flip === true && rng.next() < 0.5;
      const dy = maxY > 0 ? Math.floor(rng.next() * (2 * maxY + 1)) - maxY : 0;
      const dx = maxX > 0 ? Math.floor(rng.next() * (2 * maxX + 1)) - maxX : 0;
      if (!mirror && dy === 0 && dx === 0) continue;
      const img = x.subarray(n * size, (n + 1) * size);
      scratch.set(img);
      for (let yy = 0; yy < h; yy++) {
        const sy = Math.min(h - 1, Math.max(0, yy - dy));
        for (let xx = 0; xx < w; xx++) {
          let sx = Math.min(w - 1, Math.max(0, xx - dx));
          if (mirror) sx = w - 1 - sx;
          const from = (sy * w + sx) * c;
          const to = (yy * w + xx) * c;
          for (let k = 0; k < c; k++) img[to + k] = scratch[from + k]!;
        }
      }
    }
  };
}
