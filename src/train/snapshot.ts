import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** A copy of all of a model's weights (trainable or not), to roll back to. */
export class WeightSnapshot {
  private values: tf.Tensor[] | undefined;

  take(model: tfl.LayersModel): void {
    this.dispose();
    this.values = model.weights.map((w) => tf.keep(w.read().clone()));
  }

  restore(model: tfl.LayersModel): void {
    if (!this.values) return;
    model.weights.forEach((w, i) => w.write(this.values![i]!));
  }

  get taken(): boolean {
    return this.values !== undefined;
  }

  dispose(): void {
    if (this.values) tf.dispose(this.values);
    this.values = undefined;
  }
}
