import { GraphBuilder } from '../../engine/onnx/graph-builder.js';
import { encodeModel } from '../../engine/onnx/model-proto.js';
import type { ChainStep, DenseChain } from '../dense-chain.js';
import type { OptimizerSpec } from '../optimizer.js';
import { activate, activationGrad } from './activations.js';

/** TF.js's Adam defaults (tf.train.adam(lr)): β1 0.9, β2 0.999, ε = the float32 backend's 1e-7. */
export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const;

export interface StepGraphSpec {
  chain: DenseChain;
  /** Per Dense layer of the chain (in order): does it train in this step? */
  trainable: readonly boolean[];
  /** Per Dense layer: its learning rate (the phase's rate times its discriminative factor). */
  rates: readonly number[];
  optimizer: Required<OptimizerSpec>;
}

/** Optimizer slot names per variable, in TF.js getWeights() order within a layer's group. */
export function slotKinds(optimizer: Required<OptimizerSpec>): string[] {
  if (optimizer.name === 'adam') return ['m', 'v'];
  return optimizer.momentum > 0 ? ['acc'] : [];
}

/** Dropout layers that actually drop (TF.js skips rate 0 and rate 1). */
export function activeDropout(step: ChainStep): boolean {
  return step.kind === 'dropout' && step.rate > 0 && step.rate < 1;
}

/**
 * One whole training step as an ONNX graph: forward pass, cross-entropy gradient from the logits,
 * backward pass down to the lowest trainable layer, and the optimizer update, with TF.js's formulas
 * (so both engines train the same model). Inputs: x [n, in], y [n, out] (one-hot, or 0/1 for one
 * sigmoid unit), inv_n (1/n), w{i}/b{i} per Dense layer, mask{j} per dropping Dropout, optimizer
 * slots of the trainable layers ({slot}_w{i}, {slot}_b{i}) and, for Adam, oma1_{i} = 1 − β1^t and
 * oma2_{i} = 1 − β2^t. Outputs: logits (before the update) and new_{name} for every updated input.
 */
export function buildStepGraph(spec: StepGraphSpec): Uint8Array {
  const { chain, trainable, rates, optimizer } = spec;
  const g = new GraphBuilder();
  const x = g.input('x', ['n', chain.inputSize]);
  const y = g.input('y', ['n', chain.outputs]);
  const invN = g.input('inv_n', []);
  interface Saved {
    step: ChainStep;
    input: string;
    z: string;
    h: string;
    dense?: number;
    mask?: string;
  }
  const saved: Saved[] = [];
  let value = x;
  let denseIndex = 0;
  let dropIndex = 0;
  for (const step of chain.steps) {
    const input = value;
    if (step.kind === 'pool') {
      // [n, h·w·c] (NHWC rows) → mean over the h·w positions → [n, c].
      value = g.op('ReduceMean', [g.op('Reshape', [input, g.ints([-1, step.positions, step.channels])])], { axes: [1], keepdims: 0 });
      saved.push({ step, input, z: value, h: value });
      continue;
    }
    if (step.kind === 'dropout') {
      if (!activeDropout(step)) {
        saved.push({ step, input, z: input, h: input });
        continue;
      }
      const mask = g.input(`mask${dropIndex++}`, ['n', step.units]);
      value = g.op('Mul', [input, mask]);
      saved.push({ step, input, z: input, h: value, mask });
      continue;
    }
    let z = input;
    let dense: number | undefined;
    if (step.kind === 'dense') {
      dense = denseIndex++;
      const w = g.input(`w${dense}`, [step.inputs, step.units]);
      const args = [input, w];
      if (step.useBias) args.push(g.input(`b${dense}`, [step.units]));
      z = g.op('Gemm', args);
    }
    // Softmax only ever ends the chain (denseChain checks); its input is the logits.
    value = step.activation === 'softmax' ? z : activate(g, step.activation, z);
    saved.push(dense === undefined ? { step, input, z, h: value } : { step, input, z, h: value, dense });
  }
  const last = saved[saved.length - 1]!;
  const lastAct = last.step.kind === 'dropout' || last.step.kind === 'pool' ? 'linear' : last.step.activation;
  const squashed = lastAct === 'softmax' || lastAct === 'sigmoid';
  const logits = squashed ? last.z : last.h;
  g.output(logits, 'logits', ['n', chain.outputs]);

  // d(mean cross-entropy)/d(logits): (softmax(z) − y)/n, or (sigmoid(z) − y)/n for one unit.
  const prob = chain.outputs === 1 ? g.op('Sigmoid', [logits]) : g.op('Softmax', [logits], { axis: -1 });
  const dLogits = g.op('Mul', [g.op('Sub', [prob, y]), invN]);

  const lowest = trainable.indexOf(true);
  let grad = dLogits;
  for (let s = saved.length - 1; s >= 0; s--) {
    const { step, input, z, h, dense, mask } = saved[s]!;
    let gz: string;
    if (s === saved.length - 1) gz = squashed ? dLogits : activationGrad(g, lastAct as Exclude<typeof lastAct, 'softmax'>, grad, z, h);
    else if (step.kind === 'dropout') gz = mask ? g.op('Mul', [grad, mask]) : grad;
    else if (step.kind === 'pool') break; // only ever first, below every Dense layer
    else gz = activationGrad(g, step.activation as Exclude<typeof step.activation, 'softmax'>, grad, z, h);
    if (dense !== undefined && step.kind === 'dense') {
      if (trainable[dense]) {
        const dw = g.op('Gemm', [input, gz], { transA: 1 }, 'dw');
        update(g, `w${dense}`, [step.inputs, step.units], dw, rates[dense]!, optimizer, dense);
        if (step.useBias) update(g, `b${dense}`, [step.units], g.op('ReduceSum', [gz, g.ints([0])], { keepdims: 0 }, 'db'), rates[dense]!, optimizer, dense);
      }
      if (dense <= lowest) break;
      grad = g.op('Gemm', [gz, `w${dense}`], { transB: 1 }, 'dx');
    } else {
      grad = gz;
    }
  }
  return encodeModel(g.graph, 'graft_train_step');
}

/** The optimizer's update of one variable, as TF.js's SGD, Momentum and Adam optimizers compute it. */
function update(g: GraphBuilder, name: string, shape: number[], grad: string, rate: number, o: Required<OptimizerSpec>, dense: number): void {
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
