import { intAttr, intsAttr } from '../attrs.js';
import type { GradientFn } from '../gradient.js';

/*
 * Ops that move elements without changing them: the gradient moves dy back. Reshape-like ops
 * reshape dy to x's run-time shape, so one graph serves every batch size.
 */

/** Reshape, Flatten, Squeeze, Unsqueeze: dx = reshape(dy, shape(x)). Their shape/axes inputs get none. */
const reshapeBack: GradientFn = (c) => [c.e.op('Reshape', [c.dy[0]!, c.e.shape(c.node.inputs[0]!)], undefined, 'dx')];

/** Transpose(perm): dx = transpose(dy, perm⁻¹); no perm reverses the axes, its own inverse. */
const transpose: GradientFn = (c) => {
  const perm = intsAttr(c.node, 'perm');
  if (!perm) return [c.e.op('Transpose', [c.dy[0]!], undefined, 'dx')];
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return [c.e.op('Transpose', [c.dy[0]!], { perm: inverse }, 'dx')];
};

/** Concat(axis): dy is split along the axis into pieces as long as each input's extent there. */
const concat: GradientFn = (c) => {
  const axis = intAttr(c.node, 'axis', 0);
  const sizes = c.node.inputs.map((x) => c.e.op('Gather', [c.e.shape(x), c.e.ints([axis])]));
  const split = sizes.length === 1 ? sizes[0]! : c.e.op('Concat', sizes, { axis: 0 });
  const parts = c.e.ops('Split', [c.dy[0]!, split], c.node.inputs.length, { axis }, 'dx');
  return parts.map((p, i) => (c.needs[i] ? p : undefined));
};

export const shapeGradients: Record<string, GradientFn> = { Reshape: reshapeBack, Flatten: reshapeBack, Squeeze: reshapeBack, Unsqueeze: reshapeBack, Transpose: transpose, Concat: concat };
