import type { Emitter } from '../graph/emit.js';

/**
 * Ungrouped 2-D convolutions with weights above this many floats and at most GEMM_MAX_POSITIONS
 * output positions per image run as one GEMM over the batch (conv-gemm.ts). onnxruntime's Conv
 * multiplies image by image, so a deep layer's few output positions make thin products; elsewhere
 * its Conv wins. Measured per layer (batch 32, 2 threads, ms, plain Conv → im2col + Gemm;
 * bench/RESULTS.md): 512 → 512 3×3 at 2×2 9.6 → 3.5 (PyTorch 2.2), 256 → 512 stride 2 from 4×4
 * 4.8 → 2.5, 256 → 256 at 4×4 3.6 → 3.4; but 128 → 256 (295k floats) from 8×8 to 4×4 1.9 → 2.3,
 * 512 → 512 at 7×7 33.0 → 35.7 and 256 → 256 at 14×14 34.4 → 54.6 (a 224×224 input's sizes).
 */
export const GEMM_WEIGHT_FLOATS = 2 ** 19;
export const GEMM_MAX_POSITIONS = 16;

/** A 2-D Conv's window geometry: kernel, strides, dilations, pads [top, left, bottom, right]. */
export interface Window2d {
  kernel: readonly number[];
  strides: readonly number[];
  dilations: readonly number[];
  pads: readonly number[];
}

/**
 * im2col of X [N, C, H, W] as rows [N·H'·W', C·kh·kw]: row (n, y, x) holds every (c, tap) its
 * window reads, in a Conv weight's own [O, C, kh, kw] order. X in NHWC, padded; each tap's strided
 * Slice [N, H', W', C] stacked on a last axis. Also returns the output's [N, H', W'] (its runtime shape).
 * Only where conv-gemm.ts rewrites: at larger sizes its Slices and Concat cost more than
 * onnxruntime's Conv, and than im2col as a one-hot grouped Conv (bench/RESULTS.md).
 */
export function im2colRows(e: Emitter, x: string, channels: number, w: Window2d): { rows: string; positions: string } {
  const [kh, kw] = w.kernel as [number, number];
  const [top, left, bottom, right] = w.pads as [number, number, number, number];
  const [sh, sw] = w.strides as [number, number];
  const [dh, dw] = w.dilations as [number, number];
  const nhwc = e.op('Transpose', [x], { perm: [0, 2, 3, 1] });
  const padded = top || left || bottom || right ? e.op('Pad', [nhwc, e.ints([0, top, left, 0, 0, bottom, right, 0])]) : nhwc;
  // Tap (i, j) reads rows i·dh, i·dh + sh, … up to the last window's: the padded size less the kernel's reach after it.
  const end = (k: number, i: number, d: number): number => ((k - 1 - i) * d > 0 ? -(k - 1 - i) * d : 2 ** 52);
  const taps: string[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const tap = e.op('Slice', [padded, e.ints([i * dh, j * dw]), e.ints([end(kh, i, dh), end(kw, j, dw)]), e.ints([1, 2]), e.ints([sh, sw])]);
      taps.push(e.opset >= 13 ? e.op('Unsqueeze', [tap, e.ints([4])]) : e.op('Unsqueeze', [tap], { axes: [4] }));
    }
  }
  const rows = e.op('Reshape', [e.op('Concat', taps, { axis: 4 }), e.ints([-1, channels * kh * kw])]);
  return { rows, positions: e.op('Slice', [e.op('Shape', [taps[0]!]), e.ints([0]), e.ints([3])]) };
}

/**
 * col2im of cols [N·H'·W', C·kh·kw] (rows per input position (n, y', x'), columns in a Conv weight's
 * [C, kh, kw] order) as the NCHW image a ConvTranspose with these strides, dilations and pads
 * [top, left, bottom, right] writes, of size H × W (H = s·(H' − 1) + d·(kh − 1) + 1 − top −
 * bottom): tap (i, j) of position (y', x') lands on row s·y' + d·i − top, column s·x' + d·j − left.
 * The rows are spread by the stride (zeros between them), each tap shifted into place by one Pad
 * (negative pads trim) and the taps summed by one Sum. Returned in NHWC, [N, H, W, C].
 */
export function col2imImage(e: Emitter, cols: string, channels: number, inSize: readonly [number, number], outSize: readonly [number, number], w: Window2d): string {
  const [kh, kw] = w.kernel as [number, number];
  const [top, left] = w.pads as [number, number];
  const [sh, sw] = w.strides as [number, number];
  const [dh, dw] = w.dilations as [number, number];
  const [h1, w1] = inSize;
  const [h, wd] = outSize;
  const taps = kh * kw;
  let grid = e.op('Reshape', [cols, e.ints([-1, h1, 1, w1, 1, channels * taps])]);
  if (sh > 1 || sw > 1) grid = e.op('Pad', [grid, e.ints([0, 0, 0, 0, 0, 0, 0, 0, sh - 1, 0, sw - 1, 0])]);
  const spread = e.op('Reshape', [grid, e.ints([-1, sh * h1, sw * w1, channels, taps])]);
  const placed: string[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const t = i * kw + j;
      // [N, s·H', s·W', C]: onnxruntime's Pad copies whole innermost rows, so C goes last, not a 1.
      const tap = e.op('Reshape', [e.op('Slice', [spread, e.ints([t]), e.ints([t + 1]), e.ints([4])]), e.ints([-1, sh * h1, sw * w1, channels])]);
      const [y0, x0] = [dh * i - top, dw * j - left];
      placed.push(e.op('Pad', [tap, e.ints([0, y0, x0, 0, 0, h - (sh * h1 + y0), wd - (sw * w1 + x0), 0])]));
    }
  }
  const sum = placed.length === 1 ? placed[0]! : e.op('Sum', placed);
  return e.op('Reshape', [sum, e.ints([-1, h, wd, channels])]);
}
