import { GraftError } from '../../../errors.js';
import { describeNode, floatAttr, intAttr } from '../attrs.js';
import type { GradientFn } from '../gradient.js';
import { batchStatisticsOf, type BatchStatistics } from '../batchnorm-training.js';

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
  const stats = batchStatisticsOf(c.node);
  if (stats) return onBatchStatistics(c, stats);
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

/**
 * The training gradient of a node batchNormTraining wrote (inference mode on the batch's own
 * statistics, which carry no gradient of their own): the same formula, from the forward's
 * centered x c = x − μ [N, C, rest] and its variance, with M values per channel and istd = 1/√(σ² + ε):
 *  dβ = Σ dY, dγ = istd·Σ dY·c,
 *  dX = A·dY + B·c + C, per channel A = γ·istd, B = −A·istd·dγ/M, C = −A·dβ/M;
 *  B·c + C is one inference BatchNormalization (mean 0, variance 1, ε 0). Six full-size passes
 *  where recomputing the statistics and x̂ took twelve.
 */
function onBatchStatistics(c: Parameters<GradientFn>[0], stats: BatchStatistics): ReturnType<GradientFn> {
  const [x, gamma] = c.node.inputs as [string, string];
  const e = c.e;
  const dy = e.op('Reshape', [c.dy[0]!, e.ints([0, 0, -1])]);
  const eps = e.scalar(floatAttr(c.node, 'epsilon', 1e-5));
  const istd = e.op('Reciprocal', [e.op('Sqrt', [e.op('Add', [stats.variance, eps])])]);
  const sum = (t: string): string => e.op('ReduceSum', [t, e.ints([0, 2])], { keepdims: 0 });
  const dbeta = sum(dy);
  const dgamma = e.op('Mul', [sum(e.op('Mul', [dy, stats.centered])), istd], undefined, 'dgamma');
  let dx: string | undefined;
  if (c.needs[0]) {
    const count = e.op('Cast', [e.op('Div', [e.op('Size', [x]), e.op('Shape', [stats.mean])])], { to: 1 });
    const a = e.op('Mul', [gamma, istd]);
    const b = e.op('Neg', [e.op('Mul', [e.op('Mul', [a, istd]), e.op('Div', [dgamma, count])])]);
    const shift = e.op('Neg', [e.op('Mul', [a, e.op('Div', [dbeta, count])])]);
    const zeros = e.op('Sub', [stats.mean, stats.mean]);
    const ones = e.op('Add', [zeros, e.scalar(1)]);
    const bc = e.op('BatchNormalization', [stats.centered, b, shift, zeros, ones], { epsilon: { float: 0 } });
    const dx3 = e.op('Add', [e.op('Mul', [dy, e.op('Reshape', [a, e.ints([1, -1, 1])])]), bc]);
    dx = e.op('Reshape', [dx3, e.shape(x)], undefined, 'dx');
  }
  return [dx, c.needs[1] ? dgamma : undefined, c.needs[2] ? dbeta : undefined, undefined, undefined];
}

export const batchNormGradients: Record<string, GradientFn> = { BatchNormalization: batchNorm };
