import { floatAttr, stringAttr } from '../attrs.js';
import { FLOAT } from '../../../engine/onnx/model-proto.js';
import type { GradContext, GradientFn } from '../gradient.js';
import { RELU_FLOOR } from '../simplify.js';
import { unbroadcast } from '../unbroadcast.js';

/*
 * Pointwise activations: dx = dy · f'(x), written with the forward output where that is cheaper
 * (sigmoid, tanh). At kinks the subgradient is PyTorch's: relu'(0) = 0, clamp passes min ≤ x ≤ max.
 */

/**
 * dy where `mask`, else 0, as dy × float(mask): onnxruntime's Where broadcasts its scalar 0 through
 * a generic kernel, ≈2× slower than Cast + Mul on a [32, 96, 32, 32] gradient (bench/RESULTS.md).
 * (A non-finite dy under a false mask gives NaN, not 0; training has diverged there anyway.)
 */
const masked = (c: GradContext, mask: string): string => c.e.op('Mul', [c.dy[0]!, c.e.op('Cast', [mask], { to: FLOAT })]);

/** relu'(x) = 1 where x > 0, else 0. */
const relu: GradientFn = (c) => [masked(c, c.e.op('Greater', [c.node.inputs[0]!, c.e.scalar(0)]))];

/** LeakyRelu(α = 0.01): f'(x) = 1 where x > 0, else α. */
const leakyRelu: GradientFn = (c) => {
  const alpha = floatAttr(c.node, 'alpha', 0.01);
  const dy = c.dy[0]!;
  return [c.e.op('Where', [c.e.op('Greater', [c.node.inputs[0]!, c.e.scalar(0)]), dy, c.e.op('Mul', [dy, c.e.scalar(alpha)])])];
};

/** PRelu(x, slope) (slope broadcast, e.g. [C, 1, 1]): dx = dy where x > 0, else dy·slope; dslope = dy·x where x ≤ 0, summed to slope's shape. */
const prelu: GradientFn = (c) => {
  const [x, slope] = c.node.inputs as [string, string];
  const e = c.e;
  const dy = c.dy[0]!;
  const positive = e.op('Greater', [x, e.scalar(0)]);
  const rank = c.facts.rank(c.node.outputs[0]!);
  const dx = c.needs[0] ? unbroadcast(e, c.facts, e.op('Where', [positive, dy, e.op('Mul', [dy, slope])]), x, rank) : undefined;
  const dslope = c.needs[1] ? unbroadcast(e, c.facts, e.op('Where', [positive, e.scalar(0), e.op('Mul', [dy, x])]), slope, rank) : undefined;
  return [dx, dslope];
};

/** σ'(x) = y (1 − y). */
const sigmoid: GradientFn = (c) => {
  const y = c.node.outputs[0]!;
  return [c.e.op('Mul', [c.dy[0]!, c.e.op('Mul', [y, c.e.op('Sub', [c.e.scalar(1), y])])])];
};

/** tanh'(x) = 1 − y². */
const tanh: GradientFn = (c) => {
  const y = c.node.outputs[0]!;
  return [c.e.op('Mul', [c.dy[0]!, c.e.op('Sub', [c.e.scalar(1), c.e.op('Mul', [y, y])])])];
};

/**
 * Clip(x, min, max) (opset ≥ 11: bounds are optional inputs): dx = dy where min ≤ x ≤ max, else 0;
 * 0 < x ≤ max for a capped ReLU merged into one Clip (RELU_FLOOR, simplify.ts). Bounds get no gradient.
 */
const clip: GradientFn = (c) => {
  const [x, lo, hi] = c.node.inputs as [string, string | undefined, string | undefined];
  const conds: string[] = [];
  if (lo) conds.push(c.e.op(lo === RELU_FLOOR ? 'Greater' : 'GreaterOrEqual', [x, lo]));
  if (hi) conds.push(c.e.op('LessOrEqual', [x, hi]));
  if (conds.length === 0) return [c.dy[0]];
  const inside = conds.length === 2 ? c.e.op('And', conds) : conds[0]!;
  return [masked(c, inside)];
};

/** HardSigmoid(α = 0.2, β = 0.5): y = max(0, min(1, αx + β)); f'(x) = α where 0 < αx + β < 1, else 0. */
const hardSigmoid: GradientFn = (c) => {
  const alpha = floatAttr(c.node, 'alpha', 0.2);
  const t = c.e.op('Add', [c.e.op('Mul', [c.node.inputs[0]!, c.e.scalar(alpha)]), c.e.scalar(floatAttr(c.node, 'beta', 0.5))]);
  const inside = c.e.op('And', [c.e.op('Greater', [t, c.e.scalar(0)]), c.e.op('Less', [t, c.e.scalar(1)])]);
  return [c.e.op('Where', [inside, c.e.op('Mul', [c.dy[0]!, c.e.scalar(alpha)]), c.e.scalar(0)])];
};

/** HardSwish: y = x · max(0, min(1, x/6 + 1/2)); f'(x) = 0 for x < −3, x/3 + 1/2 for −3 ≤ x ≤ 3, 1 above (PyTorch's choice at ±3). */
const hardSwish: GradientFn = (c) => {
  const x = c.node.inputs[0]!;
  const dy = c.dy[0]!;
  const middle = c.e.op('Mul', [dy, c.e.op('Add', [c.e.op('Mul', [x, c.e.scalar(1 / 3)]), c.e.scalar(0.5)])]);
  const upper = c.e.op('Where', [c.e.op('Greater', [x, c.e.scalar(3)]), dy, middle]);
  return [c.e.op('Where', [c.e.op('Less', [x, c.e.scalar(-3)]), c.e.scalar(0), upper])];
};

/** erf'(x) = 2/√π · exp(−x²) (GELU's building block). */
const erf: GradientFn = (c) => {
  const x = c.node.inputs[0]!;
  const bell = c.e.op('Exp', [c.e.op('Neg', [c.e.op('Mul', [x, x])])]);
  return [c.e.op('Mul', [c.dy[0]!, c.e.op('Mul', [bell, c.e.scalar(2 / Math.sqrt(Math.PI))])])];
};

/** |x|' = sign(x) (0 at 0, as PyTorch). */
const abs: GradientFn = (c) => [c.e.op('Mul', [c.dy[0]!, c.e.op('Sign', [c.node.inputs[0]!])])];

/** log'(x) = 1/x. */
const log: GradientFn = (c) => [c.e.op('Div', [c.dy[0]!, c.node.inputs[0]!])];

/** softplus(x) = ln(1 + eˣ); softplus'(x) = σ(x). */
const softplus: GradientFn = (c) => [c.e.op('Mul', [c.dy[0]!, c.e.op('Sigmoid', [c.node.inputs[0]!])])];

/**
 * Gelu (opset 20). approximate "none": y = x·Φ(x), y' = Φ(x) + x·φ(x) with Φ(x) = ½(1 + erf(x/√2)),
 * φ(x) = e^(−x²/2)/√(2π). "tanh": y = ½x(1 + t), t = tanh(u), u = √(2/π)(x + 0.044715x³),
 * y' = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²).
 */
const gelu: GradientFn = (c) => {
  const x = c.node.inputs[0]!;
  const e = c.e;
  const x2 = e.op('Mul', [x, x]);
  let slope: string;
  if (stringAttr(c.node, 'approximate', 'none') === 'tanh') {
    const s = Math.sqrt(2 / Math.PI);
    const u = e.op('Mul', [e.op('Add', [x, e.op('Mul', [e.op('Mul', [x2, x]), e.scalar(0.044715)])]), e.scalar(s)]);
    const t = e.op('Tanh', [u]);
    const du = e.op('Mul', [e.op('Add', [e.scalar(1), e.op('Mul', [x2, e.scalar(3 * 0.044715)])]), e.scalar(s)]);
    const half = e.op('Mul', [e.op('Add', [e.scalar(1), t]), e.scalar(0.5)]);
    slope = e.op('Add', [half, e.op('Mul', [e.op('Mul', [x, e.scalar(0.5)]), e.op('Mul', [e.op('Sub', [e.scalar(1), e.op('Mul', [t, t])]), du])])]);
  } else {
    const cdf = e.op('Mul', [e.op('Add', [e.scalar(1), e.op('Erf', [e.op('Mul', [x, e.scalar(Math.SQRT1_2)])])]), e.scalar(0.5)]);
    const pdf = e.op('Mul', [e.op('Exp', [e.op('Mul', [x2, e.scalar(-0.5)])]), e.scalar(1 / Math.sqrt(2 * Math.PI))]);
    slope = e.op('Add', [cdf, e.op('Mul', [x, pdf])]);
  }
  return [e.op('Mul', [c.dy[0]!, slope], undefined, 'dx')];
};

/** exp'(x) = y. */
const exp: GradientFn = (c) => [c.e.op('Mul', [c.dy[0]!, c.node.outputs[0]!])];

/** sqrt'(x) = 1 / (2y). */
const sqrt: GradientFn = (c) => [c.e.op('Div', [c.dy[0]!, c.e.op('Mul', [c.node.outputs[0]!, c.e.scalar(2)])])];

/** (1/x)' = −y². */
const reciprocal: GradientFn = (c) => {
  const y = c.node.outputs[0]!;
  return [c.e.op('Neg', [c.e.op('Mul', [c.dy[0]!, c.e.op('Mul', [y, y])])])];
};

export const activationGradients: Record<string, GradientFn> = {
  Relu: relu, LeakyRelu: leakyRelu, PRelu: prelu, Sigmoid: sigmoid, Tanh: tanh, Clip: clip, HardSigmoid: hardSigmoid, HardSwish: hardSwish, Erf: erf,
  Exp: exp, Sqrt: sqrt, Reciprocal: reciprocal, Abs: abs, Log: log, Softplus: softplus, Gelu: gelu,
};
