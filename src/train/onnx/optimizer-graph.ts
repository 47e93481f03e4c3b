import type { GraphBuilder } from '../../engine/onnx/graph-builder.js';
import { decoupledDecay, type ResolvedOptimizer } from '../optimizer.js';

/** TF.js's Adam β defaults (tf.train.adam(lr)); ε is the spec's (default the float32 backend's 1e-7). */
export const ADAM = { beta1: 0.9, beta2: 0.999 } as const;

/** Whether the optimizer keeps Adam's moments and β powers (adam, adamw). */
export function isAdam(o: ResolvedOptimizer): boolean {
  return o.name === 'adam' || o.name === 'adamw';
}

/** Optimizer slot names per variable, in TF.js getWeights() order within a layer's group. */
export function slotKinds(optimizer: ResolvedOptimizer): string[] {
  if (isAdam(optimizer)) return ['m', 'v'];
  // TF.js's RMSprop keeps the moments slot even without momentum (it multiplies it by 0).
  if (optimizer.name === 'rmsprop') return ['ms', 'mom'];
  return optimizer.momentum > 0 ? ['acc'] : [];
}

/**
 * The optimizer's update of one variable, as TF.js's SGD, Momentum, Adam and RMSprop optimizers
 * compute it, op for op, with weight decay as ParamGroups adds it (L2 on the gradient, or
 * decoupled on the weight). `rate` is a graph input's name (one scalar per layer, fed every step, so
 * a schedule needs no new session) or a constant. `dense` keys the Adam bias-correction inputs: one per layer.
 */
export function update(g: GraphBuilder, name: string, shape: number[], grad: string, rate: number | string, o: ResolvedOptimizer, dense: number): void {
  const lr = typeof rate === 'string' ? inputOnce(g, rate) : g.scalar(rate);
  // Negation is exact, so lr·(−1) matches TF.js's scalar(−rate).
  const minusRate = (): string => (typeof rate === 'string' ? g.op('Neg', [lr]) : g.scalar(-rate));
  let weight = name;
  if (o.weightDecay > 0 && decoupledDecay(o)) {
    weight = g.op('Mul', [name, g.op('Sub', [g.scalar(1), g.op('Mul', [lr, g.scalar(o.weightDecay)])])]);
  } else if (o.weightDecay > 0) {
    grad = g.op('Add', [grad, g.op('Mul', [name, g.scalar(o.weightDecay)])]);
  }
  if (o.name === 'rmsprop') {
    const ms = g.input(`ms_${name}`, shape);
    const mom = g.input(`mom_${name}`, shape);
    const ms2 = g.op('Add', [g.op('Mul', [ms, g.scalar(o.rho)]), g.op('Mul', [g.op('Mul', [grad, grad]), g.scalar(1 - o.rho)])]);
    const mom2 = g.op('Add', [g.op('Mul', [mom, g.scalar(o.momentum)]), g.op('Div', [g.op('Mul', [grad, lr]), g.op('Sqrt', [g.op('Add', [ms2, g.scalar(o.epsilon)])])])]);
    g.output(ms2, `new_ms_${name}`, shape);
    g.output(mom2, `new_mom_${name}`, shape);
    g.output(g.op('Sub', [weight, mom2]), `new_${name}`, shape);
    return;
  }
  let step: string;
  if (isAdam(o)) {
    const m = g.input(`m_${name}`, shape);
    const v = g.input(`v_${name}`, shape);
    const m2 = g.op('Add', [g.op('Mul', [m, g.scalar(ADAM.beta1)]), g.op('Mul', [grad, g.scalar(1 - ADAM.beta1)])]);
    const v2 = g.op('Add', [g.op('Mul', [v, g.scalar(ADAM.beta2)]), g.op('Mul', [g.op('Mul', [grad, grad]), g.scalar(1 - ADAM.beta2)])]);
    const oma1 = inputOnce(g, `oma1_${dense}`);
    const oma2 = inputOnce(g, `oma2_${dense}`);
    const mHat = g.op('Div', [m2, oma1]);
    const vHat = g.op('Div', [v2, oma2]);
    step = g.op('Mul', [g.op('Div', [mHat, g.op('Add', [g.op('Sqrt', [vHat]), g.scalar(o.epsilon)])]), minusRate()]);
    g.output(m2, `new_m_${name}`, shape);
    g.output(v2, `new_v_${name}`, shape);
  } else if (o.momentum > 0) {
    const acc = g.input(`acc_${name}`, shape);
    const acc2 = g.op('Add', [g.op('Mul', [acc, g.scalar(o.momentum)]), grad]);
    step = g.op('Mul', [acc2, minusRate()]);
    g.output(acc2, `new_acc_${name}`, shape);
  } else {
    step = g.op('Mul', [grad, minusRate()]);
  }
  g.output(g.op('Add', [step, weight]), `new_${name}`, shape);
}

function inputOnce(g: GraphBuilder, name: string): string {
  if (!g.graph.inputs.some((i) => i.name === name)) g.input(name, []);
  return name;
}
