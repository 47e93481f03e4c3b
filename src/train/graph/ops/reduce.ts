import { intAttr, intsAttr } from '../attrs.js';
import type { GradientFn } from '../gradient.js';

/**
 * ReduceMean(axes, keepdims) (opset ≤ 17: axes an attribute; 18: an input): every input element
 * contributed 1/count of its output, so dx = expand(dy with the reduced axes kept, shape(x)) / count,
 * count = size(x) / size(y). ReduceSum is the same without the division.
 */
function reduceBack(mean: boolean): GradientFn {
  return (c) => {
    const x = c.node.inputs[0]!;
    const e = c.e;
    const axes = intsAttr(c.node, 'axes') ?? (c.node.inputs[1] ? c.facts.ints(c.node.inputs[1]) : undefined);
    let dy = c.dy[0]!;
    if (!intAttr(c.node, 'keepdims', 1) && axes && axes.length > 0) dy = e.op('Unsqueeze', [dy, e.ints(axes)]);
    let dx = e.op('Expand', [dy, e.shape(x)]);
    if (mean) dx = e.op('Div', [dx, e.op('Cast', [e.op('Div', [e.op('Size', [x]), e.op('Size', [c.dy[0]!])])], { to: 1 })]);
    return [dx];
  };
}

export const reduceGradients: Record<string, GradientFn> = { ReduceMean: reduceBack(true), ReduceSum: reduceBack(false) };
