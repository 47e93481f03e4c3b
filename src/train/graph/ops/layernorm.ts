import { GraftError } from '../../../errors.js';
import { describeNode, floatAttr, intAttr } from '../attrs.js';
import type { GradientFn } from '../gradient.js';
import { unbroadcast } from '../unbroadcast.js';

/**
 * LayerNormalization(X, γ, β; axis, epsilon) normalises over the axes from `axis` to the last:
 * x̂ = (X − μ)·istd, Y = γ·x̂ + β (γ, β broadcast over the leading axes):
 *  dX = istd·(g − mean(g) − x̂·mean(g·x̂)) with g = dY·γ (means over the normalised axes),
 *  dγ = Σ dY·x̂, dβ = Σ dY over the leading axes (unbroadcast).
 * μ and istd are recomputed (the node's optional Mean/InvStdDev outputs are often absent).
 */
const layerNorm: GradientFn = (c) => {
  const [x, gamma, beta] = c.node.inputs as [string, string, string | undefined];
  const e = c.e;
  const dy = c.dy[0]!;
  let axis = intAttr(c.node, 'axis', -1);
  const rank = c.facts.rank(x);
  if (axis >= 0) {
    if (rank === undefined) throw new GraftError('BACKEND_UNAVAILABLE', `graft cannot differentiate ${describeNode(c.node)}: axis ${axis} with an input of unknown rank. Use a negative axis or declare the input's shape.`);
    axis -= rank;
  }
  const axes = Array.from({ length: -axis }, (_, i) => axis + i);
  const centered = e.op('Sub', [x, e.reduceMean(x, axes)]);
  const variance = e.reduceMean(e.op('Mul', [centered, centered]), axes);
  const istd = e.op('Reciprocal', [e.op('Sqrt', [e.op('Add', [variance, e.scalar(floatAttr(c.node, 'epsilon', 1e-5))])])]);
  const xhat = e.op('Mul', [centered, istd], undefined, 'xhat');
  let dx: string | undefined;
  if (c.needs[0]) {
    const g = e.op('Mul', [dy, gamma]);
    const m1 = e.reduceMean(g, axes);
    const m2 = e.reduceMean(e.op('Mul', [g, xhat]), axes);
    dx = e.op('Mul', [e.op('Sub', [e.op('Sub', [g, m1]), e.op('Mul', [xhat, m2])]), istd], undefined, 'dx');
  }
  const dgamma = c.needs[1] ? unbroadcast(e, c.facts, e.op('Mul', [dy, xhat]), gamma, rank) : undefined;
  const dbeta = beta && c.needs[2] ? unbroadcast(e, c.facts, dy, beta, rank) : undefined;
  return [dx, dgamma, dbeta];
};

export const layerNormGradients: Record<string, GradientFn> = { LayerNormalization: layerNorm };
