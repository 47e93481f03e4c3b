import type { GradContext, GradientFn } from '../gradient.js';
import { unbroadcast } from '../unbroadcast.js';

/*
 * Broadcasting arithmetic. Each input's gradient is computed at the output's shape and then
 * summed back to the input's own shape (unbroadcast.ts).
 */

const back = (c: GradContext, i: number, grad: () => string): string | undefined =>
  c.needs[i] ? unbroadcast(c.e, c.facts, grad(), c.node.inputs[i]!, c.facts.rank(c.node.outputs[0]!)) : undefined;

/** y = a + b: da = dy, db = dy. */
const add: GradientFn = (c) => [back(c, 0, () => c.dy[0]!), back(c, 1, () => c.dy[0]!)];

/** y = a − b: da = dy, db = −dy. */
const sub: GradientFn = (c) => [back(c, 0, () => c.dy[0]!), back(c, 1, () => c.e.op('Neg', [c.dy[0]!]))];

/** y = a · b: da = dy · b, db = dy · a. */
const mul: GradientFn = (c) => {
  const [a, b] = c.node.inputs as [string, string];
  return [back(c, 0, () => c.e.op('Mul', [c.dy[0]!, b])), back(c, 1, () => c.e.op('Mul', [c.dy[0]!, a]))];
};

/** y = a / b: da = dy / b, db = −dy · y / b (= −dy·a/b², reusing the output). */
const div: GradientFn = (c) => {
  const b = c.node.inputs[1]!;
  const y = c.node.outputs[0]!;
  return [back(c, 0, () => c.e.op('Div', [c.dy[0]!, b])), back(c, 1, () => c.e.op('Neg', [c.e.op('Div', [c.e.op('Mul', [c.dy[0]!, y]), b])]))];
};

/** y = aᵇ: da = dy · b · a^(b−1), db = dy · y · ln a (needed only for a trained exponent; a > 0 there). */
const pow: GradientFn = (c) => {
  const [a, b] = c.node.inputs as [string, string];
  const y = c.node.outputs[0]!;
  const e = c.e;
  return [
    back(c, 0, () => e.op('Mul', [c.dy[0]!, e.op('Mul', [b, e.op('Pow', [a, e.op('Sub', [b, e.scalar(1)])])])])),
    back(c, 1, () => e.op('Mul', [c.dy[0]!, e.op('Mul', [y, e.op('Log', [a])])])),
  ];
};

/** y = Where(cond, a, b): da = dy where cond, else 0; db = dy where not cond. The condition gets none. */
const where: GradientFn = (c) => {
  const cond = c.node.inputs[0]!;
  const zero = c.e.scalar(0);
  return [undefined, back(c, 1, () => c.e.op('Where', [cond, c.dy[0]!, zero])), back(c, 2, () => c.e.op('Where', [cond, zero, c.dy[0]!]))];
};

/** y = Expand(x, shape): x is broadcast, so dx = dy summed back to x's shape. */
const expand: GradientFn = (c) => [back(c, 0, () => c.dy[0]!), undefined];

/** y = Σ xᵢ (variadic, broadcasting): dxᵢ = dy. */
const sum: GradientFn = (c) => c.node.inputs.map((_, i) => back(c, i, () => c.dy[0]!));

/** y = −x: dx = −dy. */
const neg: GradientFn = (c) => [c.e.op('Neg', [c.dy[0]!])];

/**
 * y = x (Identity; Dropout at inference, where it passes x through; Cast between float types, the
 * backward being float32 throughout): dx = dy. A Cast to an integer type never receives a gradient.
 */
const identity: GradientFn = (c) => [c.dy[0]];

export const elementwiseGradients: Record<string, GradientFn> = { Add: add, Sub: sub, Mul: mul, Div: div, Sum: sum, Neg: neg, Identity: identity, Dropout: identity, Cast: identity, CastLike: (c) => [c.dy[0], undefined], Pow: pow, Where: where, Expand: expand };
