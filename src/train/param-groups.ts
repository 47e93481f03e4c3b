import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { flatLayers } from './forward.js';
import { makeOptimizer, type OptimizerSpec } from './optimizer.js';

/** Multiplies the phase's learning rate for one layer (discriminative rates). */
export type LearningRateScale = (layer: tfl.layers.Layer) => number;

interface Group {
  layer: tfl.layers.Layer;
  optimizer: tf.Optimizer;
  variables: tf.Variable[];
}

/**
 * One optimizer per layer. TF.js optimizers keep their slots (momentum, Adam moments) by position in
 * the variable list, so a list that grows when gradual unfreezing adds a layer would hand one
 * layer's moments to another; per-layer lists never change. It also gives each layer its own rate.
 */
export class ParamGroups {
  private readonly groups = new Map<tfl.layers.Layer, Group>();
  private active: Group[] = [];

  constructor(
    private readonly model: tfl.LayersModel,
    private readonly spec: Required<OptimizerSpec>,
    private readonly scale: LearningRateScale | undefined,
  ) {}

  /** Re-reads trainability (it may change between epochs); returns the number of trainable variables. */
  refresh(): number {
    // model.trainableWeights honours nested models' own `trainable` flags; map them back to layers.
    const trainable = new Set(this.model.trainableWeights.map((w) => w.read()));
    this.active = [];
    for (const layer of flatLayers(this.model)) {
      const variables = layer.trainableWeights.map((w) => w.read() as tf.Variable).filter((v) => trainable.has(v));
      if (variables.length === 0) continue;
      let group = this.groups.get(layer);
      if (!group) {
        const factor = this.scale?.(layer) ?? 1;
        group = { layer, variables, optimizer: makeOptimizer({ ...this.spec, learningRate: this.spec.learningRate * factor }) };
        this.groups.set(layer, group);
      }
      this.active.push(group);
    }
    return this.active.reduce((n, g) => n + g.variables.length, 0);
  }

  /** One gradient step on `loss`; returns the loss value (caller disposes). */
  step(loss: () => tf.Scalar): tf.Scalar {
    const variables = this.active.flatMap((g) => g.variables);
    const { value, grads } = tf.variableGrads(loss, variables);
    for (const g of this.active) {
      const mine: tf.NamedTensorMap = {};
      for (const v of g.variables) mine[v.name] = grads[v.name]!;
      g.optimizer.applyGradients(mine);
    }
    tf.dispose(grads);
    return value;
  }

  /** Learning rate per trainable layer, for the record. */
  rates(): Record<string, number> {
    return Object.fromEntries(this.active.map((g) => [g.layer.name, this.spec.learningRate * (this.scale?.(g.layer) ?? 1)]));
  }

  dispose(): void {
    for (const g of this.groups.values()) g.optimizer.dispose();
    this.groups.clear();
    this.active = [];
  }
}
