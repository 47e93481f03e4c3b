import { GraftError } from '../../../errors.js';
import { describeNode, intAttr, intsAttr, stringAttr } from '../attrs.js';
import type { Emitter } from '../emit.js';
import type { GradContext, GradientFn } from '../gradient.js';
import { fastWeightGradient } from './conv-weight.js';

/** Conv's geometry with ONNX's defaults; auto_pad other than NOTSET/VALID is refused (its pads depend on the input size). */
export function convGeometry(c: GradContext, spatial: number): { strides: number[]; dilations: number[]; pads: number[] } {
  const autoPad = stringAttr(c.node, 'auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') {
    throw new GraftError('BACKEND_UNAVAILABLE', `graft cannot differentiate ${describeNode(c.node)}: auto_pad ${autoPad} is not handled yet (received auto_pad=${autoPad}). Export the model with explicit pads.`);
  }
  const ones = new Array<number>(spatial).fill(1);
  return { strides: intsAttr(c.node, 'strides') ?? ones, dilations: intsAttr(c.node, 'dilations') ?? ones, pads: autoPad === 'VALID' ? new Array<number>(2 * spatial).fill(0) : (intsAttr(c.node, 'pads') ?? new Array<number>(2 * spatial).fill(0)) };
}

/**
 * The pads a ConvTranspose takes to undo a strided window op: the begin pads only. Its output then
 * runs from x's first row to the last row any window reached (end padding included); padTo
 * trims the end padding or adds zero rows for the rows no window read, whichever applies.
 */
export function beginPadsOnly(pads: number[]): number[] {
  const half = pads.length / 2;
  return pads.map((p, i) => (i < half ? p : 0));
}

/**
 * Pads (or, with negative pads, trims) the end of each spatial axis of `t` to x's size: a strided
 * op leaves the last rows of x unread when they do not fill a window, and their gradient is 0.
 */
export function padTo(e: Emitter, t: string, x: string, rank: number): string {
  const grow = e.op('Sub', [e.shape(x), e.op('Shape', [t])]);
  return e.op('Pad', [t, e.op('Concat', [e.ints(new Array<number>(rank).fill(0)), grow], { axis: 0 })], undefined, 'dx');
}

/**
 * Conv(X [N, G·ci, …], W [G·co, ci, k…], B) with strides s, dilations d, pads p, group G.
 *  dX = ConvTranspose(dY, W) with the same s, d, G and begin pads (the adjoint of the
 *       convolution), cut or padded at the end to X's size (beginPadsOnly, padTo); at stride 1 a
 *       Conv with the flipped kernel instead (flippedConv).
 *  dW[o, i, k] = Σ_n Σ_j X[n, i, j·s + k·d − p] · dY[n, o, j]: for ungrouped kernels a MatMul
 *       or im2col + Gemm (conv-weight.ts, faster on onnxruntime); else itself a convolution, of X
 *       (batch and channel axes swapped) with dY as the filter, stride d, dilation s; it can run
 *       past the kernel's extent, hence the Slice. Groups ride along the channel axis (reshapes below).
 *  dB = Σ dY over all axes but the channel one.
 */
const conv: GradientFn = (c) => {
  const [x, w, b] = c.node.inputs as [string, string, string | undefined];
  const wDims = c.facts.dims(w);
  const rank = c.facts.rank(x) ?? (wDims ? wDims.length : intsAttr(c.node, 'kernel_shape')?.length !== undefined ? intsAttr(c.node, 'kernel_shape')!.length + 2 : undefined);
  const kernel = intsAttr(c.node, 'kernel_shape') ?? wDims?.slice(2);
  if (rank === undefined || kernel === undefined) {
    throw new GraftError('BACKEND_UNAVAILABLE', `graft cannot differentiate ${describeNode(c.node)}: its kernel size is unknown (no kernel_shape, and the weight ${JSON.stringify(w)} is not an initializer). Give the node its kernel_shape attribute.`);
  }
  const spatial = rank - 2;
  const { strides, dilations, pads } = convGeometry(c, spatial);
  const group = intAttr(c.node, 'group', 1);
  const e = c.e;
  const dy = c.dy[0]!;
  const axesAfter = (n: number): number[] => Array.from({ length: spatial }, (_, i) => i + n);
  let dx: string | undefined;
  if (c.needs[0]) dx = flippedConv(e, dy, w, wDims, kernel, dilations, pads, strides, group) ?? padTo(e, e.op('ConvTranspose', [dy, w], { strides, dilations, pads: beginPadsOnly(pads), group }), x, rank);
  let dw = c.needs[1] ? fastWeightGradient(e, { x, dy, wDims, kernel, strides, dilations, pads, group }) : undefined;
  if (c.needs[1] && dw === undefined) {
    let xs: string;
    let filters: string;
    if (group === 1) {
      xs = e.op('Transpose', [x], { perm: [1, 0, ...axesAfter(2)] });
      filters = e.op('Transpose', [dy], { perm: [1, 0, ...axesAfter(2)] });
    } else {
      if (!wDims) throw new GraftError('BACKEND_UNAVAILABLE', `graft cannot differentiate ${describeNode(c.node)}: a grouped convolution's weight gradient needs the weight's dims, and ${JSON.stringify(w)} is not an initializer. Store the weight as an initializer.`);
      const co = wDims[0]! / group;
      const ci = wDims[1]!;
      // X [N, G·ci, S…] → [N, G, ci, S…] → [ci, G, N, S…] → [ci, G·N, S…]: group g's channels are the N samples of its block.
      const x5 = e.op('Reshape', [x, e.op('Concat', [e.op('Slice', [e.shape(x), e.ints([0]), e.ints([1])]), e.ints([group, ci]), e.shapeFrom(x, 2)], { axis: 0 })]);
      xs = e.op('Reshape', [e.op('Transpose', [x5], { perm: [2, 1, 0, ...axesAfter(3)] }), e.op('Concat', [e.ints([ci, -1]), e.shapeFrom(x, 2)], { axis: 0 })]);
      // dY [N, G·co, S…] → [N, G, co, S…] → [G, co, N, S…] → [G·co, N, S…]: the filters of group g see its N channels.
      const dy5 = e.op('Reshape', [dy, e.op('Concat', [e.ints([-1, group, co]), e.shapeFrom(dy, 2)], { axis: 0 })]);
      filters = e.op('Reshape', [e.op('Transpose', [dy5], { perm: [1, 2, 0, ...axesAfter(3)] }), e.op('Concat', [e.ints([group * co, -1]), e.shapeFrom(dy, 2)], { axis: 0 })]);
    }
    const full = e.op('Conv', [xs, filters], { strides: dilations, dilations: strides, pads, group });
    const cut = e.op('Slice', [full, e.ints(new Array<number>(spatial).fill(0)), e.ints(kernel), e.ints(axesAfter(2))]);
    dw = e.op('Transpose', [cut], { perm: [1, 0, ...axesAfter(2)] }, 'dW');
  }
  const db = b && c.needs[2] ? e.op('ReduceSum', [dy, e.ints([0, ...axesAfter(2)])], { keepdims: 0 }, 'dB') : undefined;
  return [dx, dw, db];
};

/**
 * Stride 1: dX is itself a convolution — of dY with the kernel flipped along every spatial axis and
 * its in/out channels swapped within each group, padded by d·(k−1) − p — which onnxruntime runs on
 * its GEMM and depthwise kernels, faster than a ConvTranspose (chain-layers.ts found the same).
 * Undefined when that does not apply (strides, pads wider than the dilated kernel, a grouped
 * kernel whose dims are unknown): the caller uses ConvTranspose.
 */
function flippedConv(e: Emitter, dy: string, w: string, wDims: number[] | undefined, kernel: number[], dilations: number[], pads: number[], strides: number[], group: number): string | undefined {
  const spatial = kernel.length;
  const reach = kernel.map((k, i) => dilations[i]! * (k - 1));
  const padsT = pads.map((p, i) => reach[i % spatial]! - p);
  if (strides.some((st) => st !== 1) || padsT.some((p) => p < 0) || (group > 1 && !wDims)) return undefined;
  const axes = Array.from({ length: spatial }, (_, i) => i + 2);
  let swapped: string;
  if (group === 1) swapped = e.op('Transpose', [w], { perm: [1, 0, ...axes] });
  else {
    // [G·co, ci, k…] → [G, co, ci, k…] → [G, ci, co, k…] → [G·ci, co, k…].
    const co = wDims![0]! / group;
    const ci = wDims![1]!;
    const split = e.op('Reshape', [w, e.ints([group, co, ci, ...kernel])]);
    swapped = e.op('Reshape', [e.op('Transpose', [split], { perm: [0, 2, 1, ...axes.map((a) => a + 1)] }), e.ints([group * ci, co, ...kernel])]);
  }
  const minus = new Array<number>(spatial).fill(-1);
  // A 1×1 kernel is its own flip (onnxruntime's reversing Slice copied 143k floats in 1.7 ms).
  const flipped = kernel.every((k) => k === 1) ? swapped : e.op('Slice', [swapped, e.ints(minus), e.ints(new Array<number>(spatial).fill(-(2 ** 52))), e.ints(axes), e.ints(minus)]);
  return e.op('Conv', [dy, flipped], { pads: padsT, dilations, group }, 'dx');
}

export const convGradients: Record<string, GradientFn> = { Conv: conv };
