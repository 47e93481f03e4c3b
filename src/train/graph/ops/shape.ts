import { GraftError } from '../../../errors.js';
import { describeNode, intAttr, intsAttr, stringAttr } from '../attrs.js';
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

/** Split(axis): dx = Concat of the parts' gradients along the axis, zeros for parts nothing used. */
const split: GradientFn = (c) => {
  const axis = intAttr(c.node, 'axis', 0);
  const parts = c.node.outputs.map((o, k) => c.dy[k] ?? c.e.op('ConstantOfShape', [c.e.shape(o)]));
  return [c.e.op('Concat', parts, { axis }, 'dx'), ...c.node.inputs.slice(1).map(() => undefined)];
};

/**
 * Pad (constant mode, pads ≥ 0 given as an int64 constant, no axes input): dx = the slice of dy
 * where x sits, from the begin pads to begin + shape(x).
 */
const pad: GradientFn = (c) => {
  const [x, padsName] = c.node.inputs as [string, string | undefined];
  const pads = padsName ? c.facts.ints(padsName) : intsAttr(c.node, 'pads');
  const mode = stringAttr(c.node, 'mode', 'constant');
  if (!pads || pads.some((p) => p < 0) || mode !== 'constant' || c.node.inputs[3]) {
    throw new GraftError('BACKEND_UNAVAILABLE', `graft cannot differentiate ${describeNode(c.node)}: its gradient handles constant padding by fixed, non-negative pads (received mode ${mode}, pads ${pads ? `[${pads.join(', ')}]` : 'computed at run time'}). Pad with a Constant pads tensor, or freeze up to this node.`);
  }
  const begin = pads.slice(0, pads.length / 2);
  const starts = c.e.ints(begin);
  return [c.e.op('Slice', [c.dy[0]!, starts, c.e.op('Add', [starts, c.e.shape(x)])], undefined, 'dx'), ...c.node.inputs.slice(1).map(() => undefined)];
};

export const shapeGradients: Record<string, GradientFn> = { Reshape: reshapeBack, Flatten: reshapeBack, Squeeze: reshapeBack, Unsqueeze: reshapeBack, Transpose: transpose, Concat: concat, Split: split, Pad: pad };
