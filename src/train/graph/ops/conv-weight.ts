import type { Emitter } from '../emit.js';

/** One Conv node's geometry, as conv.ts reads it. */
export interface ConvShape {
  /** X and dY: [N, C, spatial…]. */
  x: string;
  dy: string;
  /** W's dims [co·G, ci, k…] when known at build time. */
  wDims: number[] | undefined;
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  group: number;
}

/**
 * Below this many input channels one Gemm over the transposed im2col loses to the swapped-roles
 * Conv (ResNet's 7×7 stem with 3 channels: 23.8 vs 13.6 ms of CPU; bench/RESULTS.md). There, up to
 * 3×3 kernels, products per sample (batchedProduct) beat both: MobileNetV2's 3×3 stem 1.2 ms in
 * the whole step against 3.0 swapped; the 7×7 stem's 147-channel im2col made them slower in the
 * step (14.3 against 11.7 ms), so larger kernels keep the swapped form. From 16 channels on the one
 * Gemm is written, and conv-gemm.ts picks per layer once it knows the positions per image.
 */
const IM2COL_MIN_CHANNELS = 16;
const SMALL_KERNEL_TAPS = 9;

/**
 * dW of an ungrouped Conv without the swapped-roles Conv and its Slice/Transpose chain, in the
 * form onnxruntime's CPU kernels run fastest (measured per layer shape, bench/RESULTS.md), or
 * undefined when neither form applies (grouped or depthwise kernels, unknown dims, few channels under a large kernel):
 *  - 1×1, no pads: dW[o, i] = Σ_n dY[n, o, :]·X[n, i, ::s]ᵀ — one batched MatMul and a sum over
 *    the batch, itself a MatMul by ones (9–11× less CPU than the Conv form on MobileNetV2's pointwise layers);
 *  - k×k: im2col as a Conv of X with one-hot kernels (group ci, X's own strides, dilations and
 *    pads: channel i·K + a holds X under kernel tap a), then dW = dYᵀ·cols as one Gemm over
 *    N·out-positions, or below IM2COL_MIN_CHANNELS (kernels up to 3×3) as products per sample summed over the batch.
 */
export function fastWeightGradient(e: Emitter, s: ConvShape): string | undefined {
  const { wDims, kernel, group } = s;
  if (group !== 1 || !wDims) return undefined;
  const spatial = kernel.length;
  const axes = Array.from({ length: spatial }, (_, i) => i + 2);
  if (kernel.every((k) => k === 1) && s.pads.every((p) => p === 0)) {
    // A 1×1 window at stride s reads X[::s] (Conv's output size ⌊(H − 1)/s⌋ + 1 is the Slice's).
    const xs = s.strides.every((st) => st === 1) ? s.x : e.op('Slice', [s.x, e.ints(new Array<number>(spatial).fill(0)), e.ints(new Array<number>(spatial).fill(2 ** 52)), e.ints(axes), e.ints(s.strides)]);
    return e.op('Reshape', [batchedProduct(e, s.dy, wDims[0]!, xs, wDims[1]!), e.ints(wDims)], undefined, 'dW');
  }
  const [co, ci] = wDims as [number, number];
  const taps = kernel.reduce((a, b) => a * b, 1);
  if (ci < IM2COL_MIN_CHANNELS && taps > SMALL_KERNEL_TAPS) return undefined;
  const cols = e.op('Conv', [s.x, e.constantTensor(`onehot${ci}x${kernel.join('x')}`, [ci * taps, 1, ...kernel], oneHotKernels(ci, taps))], { strides: s.strides, dilations: s.dilations, pads: s.pads, group: ci });
  if (ci < IM2COL_MIN_CHANNELS) return e.op('Reshape', [batchedProduct(e, s.dy, co, cols, ci * taps), e.ints(wDims)], undefined, 'dW');
  // [N, R, out…] → [R, N·out]: rows are channels, columns every (sample, position) pair.
  const rows = (t: string, r: number): string => e.op('Reshape', [e.op('Transpose', [t], { perm: [1, 0, ...axes] }), e.ints([r, -1])]);
  return e.op('Reshape', [e.op('Gemm', [rows(s.dy, co), rows(cols, ci * taps)], { transB: 1 }), e.ints(wDims)], undefined, 'dW');
}

/**
 * Σ over axis 0 of `perSample` [N, …] as ones[1, N]·[N, rest], shape [1, rest]: onnxruntime's
 * ReduceSum over axis 0 took 9.8 ms on MobileNetV2's [32, 1280, 112] where the product takes
 * under 1 (bench/RESULTS.md).
 */
export function sumOverBatch(e: Emitter, perSample: string): string {
  const n = e.op('Slice', [e.shape(perSample), e.ints([0]), e.ints([1])]);
  const ones = e.op('Expand', [e.scalar(1), e.op('Concat', [e.ints([1]), n], { axis: 0 })]);
  return e.op('MatMul', [ones, e.op('Reshape', [perSample, e.op('Concat', [n, e.ints([-1])], { axis: 0 })])]);
}

/**
 * Σ_n dY[n] (as [O, positions]) · cols[n]ᵀ (as [positions, R]) for dY [N, O, out…] and im2col
 * output cols [N, R, out…]: a product per sample, then the sum over the batch; [1, O·R].
 */
export function batchedProduct(e: Emitter, dy: string, o: number, cols: string, r: number): string {
  const flat = (t: string, rows: number): string => e.op('Reshape', [t, e.ints([0, rows, -1])]);
  return sumOverBatch(e, e.op('MatMul', [flat(dy, o), e.op('Transpose', [flat(cols, r)], { perm: [0, 2, 1] })]));
}

/** [ci·taps, 1, k…]: filter i·taps + a is 1 at tap a, 0 elsewhere. */
function oneHotKernels(ci: number, taps: number): Float32Array {
  const data = new Float32Array(ci * taps * taps);
  for (let f = 0; f < ci * taps; f++) data[f * taps + (f % taps)] = 1;
  return data;
}
