import * as tf from '@tensorflow/tfjs-core';

/**
 * Weights rearranged for TF.js (a Conv's [Cout, Cin, kh, kw] as tf's [kh, kw, Cin, Cout], spread
 * for dilation), kept between runs so inference does not redo it every call (on ResNet-18 the
 * weight transposes were a quarter of a forward's kernel time). Opt-in: the caller owns the cache
 * and disposes it (it holds a copy of every Conv weight).
 *
 * Safe for training: nothing is cached or reused while tf records a gradient (the rearrangement
 * must be on the tape for the weight to get its gradient), and an entry is redone when its
 * weight's data changes (a tf.Variable's assign gives it new data).
 */
export class TfWeightCache {
  private readonly entries = new Map<tf.Tensor, { data: unknown; prepared: Map<string, tf.Tensor> }>();

  /** `make()` for weight `w` under `key`, from the cache when `w`'s data is the same as when it was made. */
  get(w: tf.Tensor, key: string, make: () => tf.Tensor): tf.Tensor {
    if (tf.engine().state.gradientDepth > 0 || w.isDisposed) return make();
    let entry = this.entries.get(w);
    if (!entry || entry.data !== w.dataId) {
      entry?.prepared.forEach((t) => t.dispose());
      entry = { data: w.dataId, prepared: new Map() };
      this.entries.set(w, entry);
    }
    let t = entry.prepared.get(key);
    if (!t) {
      // kept: the op's tidy must not free it.
      t = tf.keep(make());
      entry.prepared.set(key, t);
    }
    return t;
  }

  /** How many rearranged weights it holds. */
  get size(): number {
    let n = 0;
    this.entries.forEach((e) => (n += e.prepared.size));
    return n;
  }

  dispose(): void {
    this.entries.forEach((e) => e.prepared.forEach((t) => t.dispose()));
    this.entries.clear();
  }
}
