import { BOOL, DOUBLE, FLOAT } from '../../engine/onnx/model-proto.js';
import { INTEGER_TYPES, strides, type Dim, type Scalar } from './tensor-facts.js';

/**
 * Broadcasting and elementwise arithmetic on small known values, in JavaScript, for shape
 * inference and constant folding. Float results are rounded to float32 after each op: for
 * + − × ÷ and √ that equals what onnxruntime computes in float32 (double rounding is exact for
 * these), which is why other float functions (exp, pow, erf…) are never evaluated here.
 */

/** One broadcast dimension (numpy rules); 'N' meets 1 or 'N', null is unknown. */
export function broadcastDim(a: Dim, b: Dim): Dim {
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === b) return a;
  // A known size above 1 wins: the run would fail unless the other one equals it (or is 1).
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  return null;
}

/** Multidirectional broadcast of several shapes; null when any rank is unknown. */
export function broadcastShapes(shapes: ReadonlyArray<readonly Dim[] | null>): Dim[] | null {
  if (shapes.some((s) => s === null)) return null;
  const rank = Math.max(0, ...shapes.map((s) => s!.length));
  const out: Dim[] = new Array<Dim>(rank).fill(1);
  for (const s of shapes) {
    const offset = rank - s!.length;
    s!.forEach((d, i) => {
      out[offset + i] = broadcastDim(out[offset + i]!, d);
    });
  }
  return out;
}

/** Evaluates f elementwise over values broadcast to `out` (every shape fully known). */
export function broadcastMap(inputs: ReadonlyArray<{ shape: readonly number[]; value: readonly Scalar[] }>, out: readonly number[], f: (xs: Scalar[]) => Scalar): Scalar[] {
  const total = out.reduce((p, d) => p * d, 1);
  const outStrides = strides(out);
  // Each input's stride per output axis: 0 where it is broadcast.
  const inStrides = inputs.map(({ shape }) => {
    const s = strides(shape);
    const offset = out.length - shape.length;
    return out.map((_, i) => (i < offset || shape[i - offset] === 1 ? 0 : s[i - offset]!));
  });
  const result = new Array<Scalar>(total);
  for (let k = 0; k < total; k++) {
    const xs = inputs.map(({ value }, j) => {
      let at = 0;
      let rest = k;
      for (let i = 0; i < out.length; i++) {
        const q = Math.floor(rest / outStrides[i]!);
        rest -= q * outStrides[i]!;
        at += q * inStrides[j]![i]!;
      }
      return value[at] ?? null;
    });
    result[k] = f(xs);
  }
  return result;
}

/** Rounds a computed number to what a tensor of `type` holds. */
export function toType(x: number, type: number): number {
  if (type === FLOAT) return Math.fround(x);
  if (type === DOUBLE) return x;
  if (type === BOOL) return x !== 0 ? 1 : 0;
  return Math.trunc(x);
}

type Binary = (a: number, b: number, integer: boolean) => number;

const BINARY: Readonly<Record<string, Binary>> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  // Integer division truncates toward zero, as onnxruntime's does.
  Div: (a, b, integer) => (integer ? Math.trunc(a / b) : a / b),
  Max: (a, b) => Math.max(a, b),
  Min: (a, b) => Math.min(a, b),
  Equal: (a, b) => (a === b ? 1 : 0),
  Less: (a, b) => (a < b ? 1 : 0),
  Greater: (a, b) => (a > b ? 1 : 0),
  LessOrEqual: (a, b) => (a <= b ? 1 : 0),
  GreaterOrEqual: (a, b) => (a >= b ? 1 : 0),
  And: (a, b) => (a && b ? 1 : 0),
  Or: (a, b) => (a || b ? 1 : 0),
};

export const BINARY_OPS: ReadonlySet<string> = new Set(Object.keys(BINARY));
export const COMPARISONS: ReadonlySet<string> = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or']);

/**
 * One element of a binary op. The batch size survives adding 0, multiplying or dividing by 1;
 * anything else computed from it is unknown (null) until run time.
 */
export function binary(op: string, a: Scalar, b: Scalar, inType: number, outType: number): Scalar {
  if (typeof a === 'number' && typeof b === 'number') {
    const integer = INTEGER_TYPES.has(inType);
    if (integer && op === 'Div' && b === 0) return null;
    return toType(BINARY[op]!(a, b, integer), outType);
  }
  // The batch size is at least 1: comparing it with a smaller constant (the -1 of a Reshape
  // target, in TorchScript's Expand chains) has a known answer.
  if (a === 'N' && typeof b === 'number' && b < 1) {
    if (op === 'Equal' || op === 'Less' || op === 'LessOrEqual') return 0;
    if (op === 'Greater' || op === 'GreaterOrEqual') return 1;
  }
  if (b === 'N' && typeof a === 'number' && a < 1) {
    if (op === 'Equal' || op === 'Greater' || op === 'GreaterOrEqual') return 0;
    if (op === 'Less' || op === 'LessOrEqual') return 1;
  }
  if (a === 'N' && ((op === 'Add' || op === 'Sub') && b === 0 || (op === 'Mul' || op === 'Div') && b === 1)) return 'N';
  if (b === 'N' && (op === 'Add' && a === 0 || op === 'Mul' && a === 1)) return 'N';
  return null;
}

/** Unary ops whose float32 result JavaScript reproduces exactly. */
export function unary(op: string, a: Scalar, type: number): Scalar | undefined {
  if (typeof a !== 'number') return op === 'Identity' ? a : null;
  switch (op) {
    case 'Identity': return a;
    case 'Neg': return toType(-a, type);
    case 'Abs': return toType(Math.abs(a), type);
    case 'Sqrt': return INTEGER_TYPES.has(type) ? undefined : toType(Math.sqrt(a), type);
    case 'Not': return a ? 0 : 1;
    case 'Floor': return toType(Math.floor(a), type);
    case 'Ceil': return toType(Math.ceil(a), type);
    case 'Relu': return toType(Math.max(a, 0), type);
    default: return undefined;
  }
}

/** Moves the elements of a known value of `shape` by `perm` (Transpose). */
export function permute(value: readonly Scalar[], shape: readonly number[], perm: readonly number[]): Scalar[] {
  const out = perm.map((p) => shape[p]!);
  const inStrides = strides(shape);
  const outStrides = strides(out);
  const total = value.length;
  const result = new Array<Scalar>(total);
  for (let k = 0; k < total; k++) {
    let rest = k;
    let at = 0;
    for (let i = 0; i < out.length; i++) {
      const q = Math.floor(rest / outStrides[i]!);
      rest -= q * outStrides[i]!;
      at += q * inStrides[perm[i]!]!;
    }
    result[k] = value[at] ?? null;
  }
  return result;
}
