import type * as tfl from '@tensorflow/tfjs-layers';
import seedrandom from 'seedrandom';

/**
 * The dropout multiplier TF.js would use for this batch: tf.randomUniform's numbers for the layer's
 * per-batch seed (seedrandom's alea seeded with the seed's string, stored as float32), then
 * floor(u + keep) / keep in float32. Drawn here directly: through TF.js it cost a tensor per batch.
 */
export function dropoutMask(layer: tfl.layers.Layer, rate: number, n: number, mask: Float32Array): Float32Array {
  const seed = (layer as unknown as { seed?: number }).seed;
  // seedrandom seeds the generator (its Mash hash); the draws are the Alea recurrence inlined on
  // local variables, 3-4x faster than a call per number (test/train/dropout-mask.test.ts checks
  // they equal seedrandom's).
  let { s0, s1, s2, c } = seedrandom.alea(String(seed ?? Math.random()), { state: true }).state() as AleaState;
  const keep = Math.fround(1 - rate);
  const kept = Math.fround(1 / keep);
  for (let i = 0; i < n; i++) {
    const t = 2091639 * s0 + c * 2.3283064365386963e-10; // 2^-32
    s0 = s1;
    s1 = s2;
    c = t | 0;
    s2 = t - c;
    mask[i] = Math.fround(Math.fround(s2) + keep) >= 1 ? kept : 0;
  }
  return mask;
}

/** seedrandom's Alea state (lib/alea.js). */
interface AleaState {
  s0: number;
  s1: number;
  s2: number;
  c: number;
}

/**
 * Loss sum (cross-entropy from logits, as TF.js's softmax/sigmoid losses) and correct count. With
 * `classWeights`, each sample's loss is multiplied by its class's weight (Keras's class_weight);
 * with `labelSmoothing` ε, against the smoothed targets of loss.ts (Σ_c t_c = 1, so the softmax
 * loss is logsumexp − Σ_c t_c·z_c).
 */
export function scoreLogits(logits: Float32Array, labels: Float32Array, m: number, k: number, classWeights?: Float32Array, labelSmoothing = 0): { loss: number; correct: number } {
  const e = labelSmoothing;
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < m; i++) {
    const label = labels[i]!;
    const w = classWeights ? classWeights[label]! : 1;
    if (k === 1) {
      const z = logits[i]!;
      const y = e > 0 ? label * (1 - e) + e / 2 : label;
      loss += w * (Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z))));
      if ((z > 0 ? 1 : 0) === label) correct++;
      continue;
    }
    let best = 0;
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      const z = logits[i * k + c]!;
      if (z > max) {
        max = z;
        best = c;
      }
    }
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.exp(logits[i * k + c]! - max);
    let target = logits[i * k + label]!;
    if (e > 0) {
      let all = 0;
      for (let c = 0; c < k; c++) all += logits[i * k + c]!;
      target = (1 - e) * target + (e / k) * all;
    }
    loss += w * (max + Math.log(sum) - target);
    if (best === label) correct++;
  }
  return { loss, correct };
}
