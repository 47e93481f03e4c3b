import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { stableWeights } from './checkpoint.js';

/**
 * A copy of all of a model's weights (trainable or not), to roll back to. Kept in stableWeights
 * order: with gradual unfreezing the trainability at restore time differs from that at take time.
 */
export class WeightSnapshot {
  private values: tf.Tensor[] | undefined;

  take(model: tfl.LayersModel): void {
    this.dispose();
    this.values = stableWeights(model).map((w) => tf.keep(w.read().clone()));
  }

  restore(model: tfl.LayersModel): void {
    if (!this.values) return;
    stableWeights(model).forEach((w, i) => w.write(this.values![i]!));
  }

  /** Copies of the values, for checkpoints; undefined when nothing was taken. */
  toArrays(): Float32Array[] | undefined {
    return this.values?.map((t) => (t.dataSync() as Float32Array).slice());
  }

  /** Takes `values` (as toArrays returned them) as the snapshot of `model`. */
  load(model: tfl.LayersModel, values: readonly Float32Array[]): void {
    this.dispose();
    this.values = stableWeights(model).map((w, i) => tf.keep(tf.tensor(values[i]!, w.shape as number[], 'float32')));
  }

  get taken(): boolean {
    return this.values !== undefined;
  }

  dispose(): void {
    if (this.values) tf.dispose(this.values);
    this.values = undefined;
  }
}
