import type { Emitter } from './emit.js';
import type { Facts } from './facts.js';

/**
 * Sums a gradient down to the shape of the input it flows to, undoing numpy-style broadcasting:
 * ReduceSum over the leading axes the input lacks and over the axes where the input has size 1,
 * then Reshape to the input's shape. When the input's dims are known (a bias initializer, the
 * usual case) the axes are constants; otherwise they are found at run time (the axes where the
 * input's shape, padded with leading 1s to the gradient's rank, is 1), with ReduceSum's
 * noop_with_empty_axes for the no-broadcast case.
 * `outRank` is the rank of the op's output (the gradient's), undefined when unknown.
 */
export function unbroadcast(e: Emitter, facts: Facts, grad: string, x: string, outRank: number | undefined): string {
  const dims = facts.dims(x);
  if (dims && outRank !== undefined) {
    const lead = outRank - dims.length;
    const axes = Array.from({ length: lead }, (_, a) => a);
    dims.forEach((d, a) => d === 1 && axes.push(a + lead));
    if (axes.length === 0) return grad;
    const summed = e.op('ReduceSum', [grad, e.ints(axes)], { keepdims: 1 }, 'unbroadcast');
    return e.op('Reshape', [summed, e.ints(dims)]);
  }
  const rx = facts.rank(x);
  let padded: string;
  if (rx !== undefined && outRank !== undefined) {
    padded = outRank === rx ? e.shape(x) : e.op('Concat', [e.ints(new Array<number>(outRank - rx).fill(1)), e.shape(x)], { axis: 0 });
  } else {
    // Ranks unknown: prepend eight 1s and keep the last rank(grad) entries (no graph op reaches rank 8 + rank(x)).
    const ones = e.op('Concat', [e.ints(new Array<number>(8).fill(1)), e.shape(x)], { axis: 0 });
    const start = e.op('Neg', [e.op('Reshape', [e.op('Size', [e.shape(grad)]), e.ints([1])])]);
    padded = e.op('Slice', [ones, start, e.ints([Number.MAX_SAFE_INTEGER])]);
  }
  const axes = e.op('Reshape', [e.op('NonZero', [e.op('Equal', [padded, e.ints([1])])]), e.ints([-1])]);
  const summed = e.op('ReduceSum', [grad, axes], { keepdims: 1, noop_with_empty_axes: 1 }, 'unbroadcast');
  return e.op('Reshape', [summed, e.shape(x)]);
}
