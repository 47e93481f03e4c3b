import type { Emitter } from './emit.js';

/**
 * The gradient of any op that picks elements of x (Gather, Slice, MaxPool): number x's elements
 * 0…size−1 in x's shape, let `pick` apply the same selection to those numbers, and add each
 * incoming gradient at the position it was picked from (ScatterElements with reduction "add",
 * so an element picked twice — overlapping pooling windows, repeated embedding rows — receives
 * the sum). One int64 index per element of x is the cost of handling every case the same way.
 */
export function scatterBack(e: Emitter, x: string, dy: string, pick: (iota: string) => string): string {
  const size = e.op('Size', [x]);
  const iota = e.op('Reshape', [e.op('Range', [e.int(0), size, e.int(1)]), e.shape(x)], undefined, 'iota');
  return addAt(e, x, pick(iota), dy);
}

/** dx with dy added at flat positions `indices` of x (x's shape), zeros elsewhere. */
export function addAt(e: Emitter, x: string, indices: string, dy: string): string {
  const zeros = e.op('ConstantOfShape', [e.op('Reshape', [e.op('Size', [x]), e.ints([1])])]);
  const flat = e.op('ScatterElements', [zeros, e.op('Reshape', [indices, e.ints([-1])]), e.op('Reshape', [dy, e.ints([-1])])], { axis: 0, reduction: { string: 'add' } });
  return e.op('Reshape', [flat, e.shape(x)], undefined, 'dx');
}
