import { GraftError } from '../../../errors.js';
import { describeNode, floatAttr, intAttr } from '../attrs.js';
import type { GradientFn } from '../gradient.js';

/**
 * BatchNormalization(X [N, C, …], γ, β, mean, var), x̂ = (X − μ)·istd, Y = γ·x̂ + β:
 *  dγ = Σ dY·x̂, dβ = Σ dY (over every axis but C);
 *  inference (training_mode 0: μ, σ² are the running inputs): dX = dY·γ·istd;
 *  training (training_mode 1: μ, σ² of the batch, biased): dX = γ·istd·(dY − mean(dY) − x̂·mean(dY·x̂))
 *  — the textbook form with dx̂ = dY·γ folded (γ is per channel), as graft's chain engine does;
 *  its two means are dβ/M and dγ/M (M values per channel), not two more full-size reductions.
 * The batch statistics are recomputed here rather than read from the forward node, which in
 * training mode only outputs the updated running averages. Running statistics get no gradient.
 */
const batchNorm: GradientFn = (c) => {
  const [x, gamma, , runMean, runVar] = c.node.inputs as [string, string, string, string, string];
  const rank = c.facts.rank(x);
  if (rank === undefined) throw new GraftError('BACKEND_UNAVAILABLE', `graft cannot differentiate ${describeNode(c.node)}: its input's rank is unknown. Declare the graph input's shape.`);
  const e = c.e;
  const dy = c.dy[0]!;
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const perChannel = (v: string): string => e.op('Reshape', [v, e.ints([1, -1, ...new Array<number>(rank - 2).fill(1)])]);
  const eps = e.scalar(floatAttr(c.node, 'epsilon', 1e-5));
  const training = intAttr(c.node, 'training_mode', 0) === 1;
  let centered: string;
  let istd: string;
  if (training) {
    centered = e.op('Sub', [x, e.reduceMean(x, axes)]);
    const variance = e.reduceMean(e.op('Mul', [centered, centered]), axes);
    istd = e.op('Reciprocal', [e.op('Sqrt', [e.op('Add', [variance, eps])])]);
  } else {
    centered = e.op('Sub', [x, perChannel(runMean)]);
    istd = perChannel(e.op('Reciprocal', [e.op('Sqrt', [e.op('Add', [runVar, eps])])]));
  }
  const xhat = e.op('Mul', [centered, istd], undefined, 'xhat');
  const dxTraining = c.needs[0] && training;
  const dyXhat = c.needs[1] || dxTraining ? e.op('Mul', [dy, xhat]) : '';
  // The training dX needs Σ dY and Σ dY·x̂ too: its two means are dβ and dγ over the count.
  const dgamma = c.needs[1] || dxTraining ? e.op('ReduceSum', [dyXhat, e.ints(axes)], { keepdims: 0 }, 'dgamma') : undefined;
  const dbeta = c.needs[2] || dxTraining ? e.op('ReduceSum', [dy, e.ints(axes)], { keepdims: 0 }, 'dbeta') : undefined;
  let dx: string | undefined;
  if (c.needs[0]) {
    const scale = e.op('Mul', [perChannel(gamma), istd]);
    if (!training) dx = e.op('Mul', [dy, scale], undefined, 'dx');
    else {
      // Values per channel: size(X) / C, as float32.
      const count = e.op('Cast', [e.op('Div', [e.op('Size', [x]), e.op('Gather', [e.shape(x), e.int(1)])])], { to: 1 });
      const m1 = perChannel(e.op('Div', [dbeta!, count]));
      const m2 = perChannel(e.op('Div', [dgamma!, count]));
      dx = e.op('Mul', [e.op('Sub', [e.op('Sub', [dy, m1]), e.op('Mul', [xhat, m2])]), scale], undefined, 'dx');
    }
  }
  return [dx, c.needs[1] ? dgamma : undefined, c.needs[2] ? dbeta : undefined, undefined, undefined];
};

export const batchNormGradients: Record<string, GradientFn> = { BatchNormalization: batchNorm };
