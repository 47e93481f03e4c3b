import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { flatLayers } from './forward.js';
import { decoupledDecay, makeOptimizer, type ResolvedOptimizer } from './optimizer.js';
import type { OptimizerState } from './checkpoint.js';
import { GraftError } from '../errors.js';

/** Multiplies the phase's learning rate for one layer (discriminative rates). */
export type LearningRateScale = (layer: tfl.layers.Layer) => number;

interface Group {
  layer: tfl.layers.Layer;
  optimizer: tf.Optimizer;
  variables: tf.Variable[];
  /** The layer's factor on the phase's (scheduled) rate. */
  factor: number;
  /** The rate its optimizer holds now. */
  rate: number;
}

/**
 * One optimizer per layer. TF.js optimizers keep their slots (momentum, Adam moments) by position in
 * the variable list, so a list that grows when gradual unfreezing adds a layer would hand one
 * layer's moments to another; per-layer lists never change. It also gives each layer its own rate.
 */
export class ParamGroups {
  private readonly groups = new Map<tfl.layers.Layer, Group>();
  private active: Group[] = [];
  /** The phase's rate now (a schedule changes it); each layer's is this × its factor. */
  private base: number;

  constructor(
    private readonly model: tfl.LayersModel,
    private readonly spec: ResolvedOptimizer,
    private readonly scale: LearningRateScale | undefined,
  ) {
    this.base = spec.learningRate;
  }

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
        const rate = this.base * factor;
        group = { layer, variables, factor, rate, optimizer: makeOptimizer({ ...this.spec, learningRate: rate }) };
        this.groups.set(layer, group);
      }
      this.active.push(group);
    }
    return this.active.reduce((n, g) => n + g.variables.length, 0);
  }

  /** Sets the phase's rate for the next steps (each layer gets it × its factor). */
  setLearningRate(rate: number): void {
    this.base = rate;
    for (const g of this.groups.values()) {
      const r = rate * g.factor;
      if (r === g.rate) continue;
      g.rate = r;
      // SGD and Momentum hold −rate as a kept scalar; Adam and RMSprop read the number each step.
      // (TF.js optimizers answer instanceof by duck typing, so the class name tells them apart.)
      const kind = g.optimizer.getClassName();
      if (kind === 'SGD' || kind === 'Momentum') (g.optimizer as tf.SGDOptimizer).setLearningRate(r);
      else (g.optimizer as unknown as { learningRate: number }).learningRate = r;
    }
  }

  /** One gradient step on `loss`; returns the loss value (caller disposes). */
  step(loss: () => tf.Scalar): tf.Scalar {
    const variables = this.active.flatMap((g) => g.variables);
    const { value, grads } = tf.variableGrads(loss, variables);
    const decay = this.spec.weightDecay;
    const decoupled = decoupledDecay(this.spec);
    for (const g of this.active) {
      const mine: tf.NamedTensorMap = {};
      for (const v of g.variables) mine[v.name] = grads[v.name]!;
      if (decay > 0 && !decoupled) {
        // L2 (PyTorch SGD/Adam weight_decay): g + decay·w, the op order of optimizer-graph.ts.
        for (const v of g.variables) mine[v.name] = tf.tidy(() => tf.add(mine[v.name]!, tf.mul(v, decay)));
      }
      if (decay > 0 && decoupled) {
        // Decoupled (AdamW): w·(1 − rate·decay) before the update, in float32 as the step graph computes it.
        const keep = Math.fround(1 - Math.fround(Math.fround(g.rate) * Math.fround(decay)));
        tf.tidy(() => g.variables.forEach((v) => v.assign(tf.mul(v, keep))));
      }
      g.optimizer.applyGradients(mine);
      if (decay > 0 && !decoupled) tf.dispose(g.variables.map((v) => mine[v.name]!));
    }
    tf.dispose(grads);
    return value;
  }

  /** Learning rate per trainable layer now, for the record. */
  rates(): Record<string, number> {
    return Object.fromEntries(this.active.map((g) => [g.layer.name, g.rate]));
  }

  /** Every layer optimizer's state, in creation order (for checkpoints). */
  async saveState(): Promise<OptimizerState[]> {
    const states: OptimizerState[] = [];
    for (const g of this.groups.values()) {
      const [iter, ...slots] = await g.optimizer.getWeights();
      // getWeights() makes a fresh scalar for the count; the slots are the optimizer's own variables.
      const iterations = (await iter!.tensor.data())[0]!;
      iter!.tensor.dispose();
      const state: OptimizerState = { layer: g.layer.name, iterations, slots: slots.map((s) => (s.tensor.dataSync() as Float32Array).slice()) };
      const acc = adamPowers(g.optimizer);
      if (acc) state.accBeta = [acc[0].dataSync()[0]!, acc[1].dataSync()[0]!];
      states.push(state);
    }
    return states;
  }

  /**
   * Puts back what saveState returned. Call after refresh() has created the same layers' optimizers
   * and before any step: TF.js setWeights replaces the slot lists without freeing existing ones.
   */
  async restoreState(states: readonly OptimizerState[]): Promise<void> {
    const byName = new Map([...this.groups.values()].map((g) => [g.layer.name, g]));
    const names = states.map((s) => s.layer);
    if (states.length !== byName.size || names.some((n) => !byName.has(n))) {
      throw new GraftError(
        'CHECKPOINT_MISMATCH',
        `The checkpoint has optimizer state for layers ${names.join(', ') || '(none)'}, but the layers training now are ${[...byName.keys()].join(', ') || '(none)'}: freeze settings or the model differ from the interrupted run's.`,
      );
    }
    for (const s of states) {
      const g = byName.get(s.layer)!;
      const n = g.variables.length;
      if (s.slots.length % n !== 0) throw new GraftError('CHECKPOINT_MISMATCH', `Optimizer state of layer ${s.layer} has ${s.slots.length} slots for ${n} variables; it does not belong to this model.`);
      const tensors = s.slots.map((values, k) => {
        const v = g.variables[k % n]!;
        if (values.length !== v.size) throw new GraftError('CHECKPOINT_MISMATCH', `Optimizer slot ${k} of layer ${s.layer} has ${values.length} values; variable ${v.name} has ${v.size}.`);
        return { name: `${v.name}/slot${k}`, tensor: tf.tensor(values, v.shape, 'float32') };
      });
      const iter = { name: 'iter', tensor: tf.scalar(s.iterations, 'int32') };
      try {
        // setWeights makes variables of its own from these tensors, so ours can go afterwards.
        await g.optimizer.setWeights([iter, ...tensors]);
      } finally {
        tf.dispose([iter.tensor, ...tensors.map((t) => t.tensor)]);
      }
      const acc = adamPowers(g.optimizer);
      if (acc && s.accBeta) tf.tidy(() => acc.forEach((v, i) => v.assign(tf.scalar(s.accBeta![i]!))));
    }
  }

  dispose(): void {
    for (const g of this.groups.values()) {
      g.optimizer.dispose();
      // TF.js's MomentumOptimizer.dispose() skips SGD's, which frees the learning-rate scalar.
      const c = g.optimizer instanceof tf.MomentumOptimizer ? (g.optimizer as unknown as { c?: tf.Tensor }).c : undefined;
      if (c && !c.isDisposed) c.dispose();
    }
    this.groups.clear();
    this.active = [];
  }
}

/** Adam's private β1^t, β2^t variables (see OptimizerState.accBeta); undefined for other optimizers. */
function adamPowers(optimizer: tf.Optimizer): [tf.Variable, tf.Variable] | undefined {
  // TF.js's optimizer classes answer instanceof by duck typing (any optimizer passes); the class name does not.
  if (optimizer.getClassName() !== 'Adam') return undefined;
  const o = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  return o.accBeta1 && o.accBeta2 ? [o.accBeta1, o.accBeta2] : undefined;
}
