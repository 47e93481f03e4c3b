import type { AttrValue } from '../../../engine/onnx/model-proto.js';
import { GraftError } from '../../../errors.js';
import { describeNode, floatAttr, intAttr } from '../attrs.js';
import type { GradientFn } from '../gradient.js';
import { unbroadcast } from '../unbroadcast.js';

/**
 * Gemm: Y = α·A′·B′ + β·C with A′ = transA ? Aᵀ : A, B′ likewise.
 *   dA′ = α·dY·B′ᵀ, dB′ = α·A′ᵀ·dY, dC = β·dY summed to C's shape.
 * Each is one Gemm whose trans flags fold the transposes in (dA = (dA′)ᵀ when transA, etc.).
 */
const gemm: GradientFn = (c) => {
  const [a, b, cc] = c.node.inputs as [string, string, string | undefined];
  const dy = c.dy[0]!;
  const tA = intAttr(c.node, 'transA', 0);
  const tB = intAttr(c.node, 'transB', 0);
  const alpha = floatAttr(c.node, 'alpha', 1);
  const beta = floatAttr(c.node, 'beta', 1);
  const scaled: Record<string, AttrValue> = alpha === 1 ? {} : { alpha: { float: alpha } };
  const da = c.needs[0] ? (tA ? c.e.op('Gemm', [b, dy], { transA: tB, transB: 1, ...scaled }, 'dA') : c.e.op('Gemm', [dy, b], { transB: 1 - tB, ...scaled }, 'dA')) : undefined;
  const db = c.needs[1] ? (tB ? c.e.op('Gemm', [dy, a], { transA: 1, transB: tA, ...scaled }, 'dB') : c.e.op('Gemm', [a, dy], { transA: 1 - tA, ...scaled }, 'dB')) : undefined;
  let dc: string | undefined;
  if (cc && c.needs[2]) {
    const g = beta === 1 ? dy : c.e.op('Mul', [dy, c.e.scalar(beta)]);
    dc = unbroadcast(c.e, c.facts, g, cc, 2);
  }
  return [da, db, dc];
};

/**
 * MatMul (numpy semantics, batched and broadcasting over leading axes): Y = A·B,
 *   dA = dY·Bᵀ, dB = Aᵀ·dY (transposing the last two axes), each summed over the batch axes the
 *   operand was broadcast along. Rank-1 operands (numpy's vector promotion) are not handled yet.
 */
const matmul: GradientFn = (c) => {
  const [a, b] = c.node.inputs as [string, string];
  const ra = c.facts.rank(a);
  const rb = c.facts.rank(b);
  const dy = c.dy[0]!;
  const bDims = c.facts.dims(b);
  if (bDims?.length === 2 && ra !== 1) {
    // A [..., m, k] × a weight matrix B [k, n] (a Linear layer): A's rank need not be known.
    // dA = dY·Bᵀ has A's shape already; dB = Σ over all rows of Aᵀ·dY, one Gemm on A and dY flattened to rows.
    const [k, n] = bDims as [number, number];
    const da = c.needs[0] ? c.e.op('MatMul', [dy, c.e.op('Transpose', [b], { perm: [1, 0] })], undefined, 'dA') : undefined;
    const db = c.needs[1] ? c.e.op('Gemm', [c.e.op('Reshape', [a, c.e.ints([-1, k])]), c.e.op('Reshape', [dy, c.e.ints([-1, n])])], { transA: 1 }, 'dB') : undefined;
    return [da, db];
  }
  if (ra === undefined || rb === undefined || ra < 2 || rb < 2) {
    throw new GraftError(
      'BACKEND_UNAVAILABLE',
      `graft cannot differentiate ${describeNode(c.node)}: its gradient needs both operands' ranks, at least 2 (received ranks ${ra ?? 'unknown'} and ${rb ?? 'unknown'}). Reshape vector operands to matrices before the MatMul, or declare the input shapes.`,
    );
  }
  const outRank = Math.max(ra, rb);
  const t = (x: string, r: number): string => c.e.op('Transpose', [x], { perm: [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2] });
  const da = c.needs[0] ? unbroadcast(c.e, c.facts, c.e.op('MatMul', [dy, t(b, rb)], undefined, 'dA'), a, outRank) : undefined;
  const db = c.needs[1] ? unbroadcast(c.e, c.facts, c.e.op('MatMul', [t(a, ra), dy], undefined, 'dB'), b, outRank) : undefined;
  return [da, db];
};

export const matmulGradients: Record<string, GradientFn> = { Gemm: gemm, MatMul: matmul };
