import type { GraphBuilder } from '../../engine/onnx/graph-builder.js';
import type { OptimizerSpec } from '../optimizer.js';

/** TF.js's Adam defaults (tf.train.adam(lr)): β1 0.9, β2 0.999, ε = the float32 backend's 1e-7. */
export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const;

/** Optimizer slot names per variable, in TF.js getWeights() order within a layer's group. */
export function slotKinds(optimizer: Required<OptimizerSpec>): string[] {
  if (optimizer.name === 'adam') return ['m', 'v'];
  return optimizer.momentum > 0 ? ['acc'] : [];
}

/** The optimizer's update of one variable, as TF.js's SGD, Momentum and Adam optimizers compute it (`dense` keys the Adam bias-correction inputs: one per layer). */
export function update(g: GraphBuilder, name: string, shape: number[], grad: string, rate: number, o: Required<OptimizerSpec>, dense: number): void {
  const minusRate = g.scalar(-rate);
  let step: string;
  if (o.name === 'adam') {
    const m = g.input(`m_${name}`, shape);
    const v = g.input(`v_${name}`, shape);
    const m2 = g.op('Add', [g.op('Mul', [m, g.scalar(ADAM.beta1)]), g.op('Mul', [grad, g.scalar(1 - ADAM.beta1)])]);
    const v2 = g.op('Add', [g.op('Mul', [v, g.scalar(ADAM.beta2)]), g.op('Mul', [g.op('Mul', [grad, grad]), g.scalar(1 - ADAM.beta2)])]);
    const oma1 = inputOnce(g, `oma1_${dense}`);
    const oma2 = inputOnce(g, `oma2_${dense}`);
    const mHat = g.op('Div', [m2, oma1]);
    const vHat = g.op('Div', [v2, oma2]);
    step = g.op('Mul', [g.op('Div', [mHat, g.op('Add', [g.op('Sqrt', [vHat]), g.scalar(ADAM.epsilon)])]), minusRate]);
    g.output(m2, `new_m_${name}`, shape);
    g.output(v2, `new_v_${name}`, shape);
  } else if (o.momentum > 0) {
    const acc = g.input(`acc_${name}`, shape);
    const acc2 = g.op('Add', [g.op('Mul', [acc, g.scalar(o.momentum)]), grad]);
    step = g.op('Mul', [acc2, minusRate]);
    g.output(acc2, `new_acc_${name}`, shape);
  } else {
    step = g.op('Mul', [grad, minusRate]);
  }
  g.output(g.op('Add', [step, name]), `new_${name}`, shape);
}

function inputOnce(g: GraphBuilder, name: string): string {
  if (!g.graph.inputs.some((i) => i.name === name)) g.input(name, []);
  return name;
}
