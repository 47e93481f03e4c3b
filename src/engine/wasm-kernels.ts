import * as tf from '@tensorflow/tfjs-core';
import { GraftError } from '../errors.js';

type KernelArgs = Parameters<tf.KernelFunc>[0];
type Pad = Parameters<typeof tf.backend_util.computeConv2DInfo>[4];
type Shape4 = [number, number, number, number];

/** The wasm kernels graft's gradients are composed of. */
const PARTS = ['PadV2', 'StridedSlice', 'BatchMatMul', 'Pack', 'Fill', 'Reverse', 'Sum', 'Transpose', 'DepthwiseConv2dNative'] as const;
type Part = (typeof PARTS)[number];
type Parts = Record<Part, tf.KernelConfig>;

/**
 * Gradient kernels the wasm backend lacks. TF.js 4.22's wasm backend cannot train Conv2D (no
 * Conv2DBackpropFilter) nor DepthwiseConv2D (no DepthwiseConv2dNativeBackpropInput/Filter), so
 * MobileNetV2 could not be fine-tuned on it. Each is composed from wasm's own fast kernels (pad,
 * transpose, strided slice, batched matmul, pack, the forward depthwise convolution); registering
 * is idempotent and skips any kernel a later TF.js provides itself.
 */
export function registerWasmGradKernels(): void {
  const found = Object.fromEntries(PARTS.map((p) => [p, tf.getKernel(p, 'wasm')]));
  if (PARTS.some((p) => !found[p])) return;
  const k = found as Parts;
  const kernels: Array<[string, (args: KernelArgs, k: Parts) => tf.TensorInfo]> = [
    ['Conv2DBackpropFilter', filterGradient],
    ['DepthwiseConv2dNativeBackpropFilter', depthwiseFilterGradient],
    ['DepthwiseConv2dNativeBackpropInput', depthwiseInputGradient],
  ];
  for (const [kernelName, grad] of kernels) {
    if (!tf.getKernel(kernelName, 'wasm')) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: (args: KernelArgs) => grad(args, k) });
  }
}

/**
 * Runs wasm kernels, remembering every output so that `free` disposes them through the backend
 * (kernel outputs are not tensors: TF.js's engine never sees, let alone frees, them). A reshape is
 * a view `{...t, shape}` sharing the data, so it needs no disposal of its own.
 */
function scratch(backend: tf.KernelBackend) {
  const temps: tf.TensorInfo[] = [];
  return {
    run(kernel: tf.KernelConfig, inputs: Record<string, tf.TensorInfo> | tf.TensorInfo[], attrs: Record<string, unknown> = {}): tf.TensorInfo {
      const out = kernel.kernelFunc({ inputs: inputs as unknown as tf.NamedTensorInfoMap, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
      temps.push(out);
      return out;
    },
    /** Takes `t` (or the data it views) out of the disposal list: it is the kernel's result. */
    keep(t: tf.TensorInfo): void {
      const i = temps.findIndex((u) => u.dataId === t.dataId);
      if (i >= 0) temps.splice(i, 1);
    },
    free(): void {
      for (const t of temps) backend.disposeData(t.dataId);
    },
  };
}

const view = (t: tf.TensorInfo, shape: number[]): tf.TensorInfo => ({ ...t, shape });

function stridedSliceAttrs(begin: number[], end: number[], strides: number[]): Record<string, unknown> {
  return { begin, end, strides, beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 };
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: string;
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The layouts the composed kernels handle; anything else is refused, never computed wrongly. */
function assertPlain(a: ConvAttrs, what: string): void {
  if (a.dataFormat === 'NCHW') {
    throw new GraftError('BAD_ARGUMENT', `The ${what} on wasm supports channels-last (NHWC) only; received dataFormat NCHW. Use channels-last layers or --backend cpu.`);
  }
  const d = a.dilations ?? 1;
  if ((Array.isArray(d) ? d : [d, d]).some((v) => v !== 1)) {
    throw new GraftError('BAD_ARGUMENT', `The ${what} on wasm supports dilation 1 only; received dilations ${JSON.stringify(d)}. Use --backend cpu for dilated convolutions.`);
  }
}

/**
 * Conv2D's filter gradient as kh·kw matrix products, one per filter tap:
 * dW[i, j]ᵀ = dYᵀ · X(i, j), where X(i, j) is the padded input sampled at that tap with the
 * convolution's stride, reshaped to [n·oh·ow, c]. dY is transposed once up front: wasm's matmul
 * with transposeA is 8–13× slower than a transpose plus a plain one (51 ms against 4 ms for a
 * 1×1 conv of 8192 pixels, 96→24 channels). A first version delegated to wasm's
 * Conv3DBackpropFilterV2, 100× slower than the forward pass (6.2 s against 60 ms for a
 * 32×32×32→64 batch of 32).
 */
function filterGradient({ inputs, backend, attrs }: KernelArgs, k: Parts): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as ConvAttrs & { filterShape: Shape4 };
  assertPlain(a, 'Conv2D filter gradient');
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode);
  const { batchSize: n, inChannels: c, outHeight: oh, outWidth: ow, outChannels: oc, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const s = scratch(backend as tf.KernelBackend);
  try {
    const xp = paddedForTaps(s, k, x, info);
    const rows = n * oh * ow;
    const dyt = view(s.run(k.Transpose, { x: view(dy, [rows, oc]) }, { perm: [1, 0] }), [1, oc, rows]);
    const taps: tf.TensorInfo[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const tap = s.run(k.StridedSlice, { x: xp }, stridedSliceAttrs([0, i, j, 0], [n, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, c], [1, sh, sw, 1]));
        const prod = s.run(k.BatchMatMul, { a: dyt, b: view(tap, [1, rows, c]) }, { transposeA: false, transposeB: false });
        taps.push(view(prod, [oc, c]));
      }
    }
    const packed = s.run(k.Pack, taps, { axis: 0 });
    const dw = s.run(k.Transpose, { x: packed }, { perm: [0, 2, 1] });
    s.keep(dw);
    return view(dw, [...a.filterShape]);
  } finally {
    s.free();
  }
}

/** Pads x so that every tap's strided sample lies inside: rows −top … (oh−1)·sh + kh − 1 − top. */
function paddedForTaps(s: ReturnType<typeof scratch>, k: Parts, x: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  const bottom = Math.max(0, (oh - 1) * sh + kh - h - top);
  const right = Math.max(0, (ow - 1) * sw + kw - w - left);
  if (top === 0 && left === 0 && bottom === 0 && right === 0) return x;
  return s.run(k.PadV2, { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 });
}

/**
 * DepthwiseConv2D's filter gradient, dW[i, j, c] = Σ_{n,oh,ow} Xpad[n, oh·s+i, ow·s+j, c]·dY[n, oh, ow, c],
 * is itself a depthwise convolution: of the input, with the images moved into the channels
 * ([1, h, w, n·c]), by dY as an oh×ow filter dilated by the stride; its kh×kw output, summed over
 * the images, is dW. So one call of wasm's forward kernel (XNNPACK) does the work, between two
 * transposes that keep each pixel's channels together (fast copies). Composing per-tap strided
 * slices, products and sums instead was 10–100× slower: wasm's strided slice copies element by element.
 */
function depthwiseFilterGradient({ inputs, backend, attrs }: KernelArgs, k: Parts): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as ConvAttrs & { filterShape: Shape4 };
  assertPlain(a, 'depthwise convolution filter gradient');
  const [kh, kw, , m] = a.filterShape;
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, true);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const s = scratch(backend as tf.KernelBackend);
  try {
    const xt = view(s.run(k.Transpose, { x }, { perm: [1, 2, 0, 3] }), [1, h, w, n * c]);
    const dyt = view(s.run(k.Transpose, { x: dy }, { perm: [1, 2, 0, 3] }), [oh, ow, n * c, m]);
    // The dilated filter spans (oh−1)·s + 1 rows, so kh output rows need (oh−1)·s + kh padded input rows.
    const { top, left } = info.padInfo;
    const bottom = (oh - 1) * sh + kh - h - top;
    const right = (ow - 1) * sw + kw - w - left;
    const pad = [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]];
    let taps = s.run(k.DepthwiseConv2dNative, { x: xt, filter: dyt }, { strides: 1, pad, dilations: [sh, sw] });
    // Rows a valid convolution never read (bottom < 0) give extra outputs at the end: crop them.
    if (taps.shape[1] !== kh || taps.shape[2] !== kw) {
      taps = s.run(k.StridedSlice, { x: taps }, stridedSliceAttrs([0, 0, 0, 0], [1, kh, kw, n * c * m], [1, 1, 1, 1]));
    }
    const sum = s.run(k.Sum, { x: view(taps, [kh * kw, n, c * m]) }, { axis: [1], keepDims: false });
    s.keep(sum);
    return view(sum, [...a.filterShape]);
  } finally {
    s.free();
  }
}

/**
 * DepthwiseConv2D's input gradient: every dY element spreads over the kh×kw input pixels its tap
 * read. That is a stride-1 depthwise convolution (wasm's fast forward kernel) of dY — with s−1 zeros
 * inserted between its elements for stride s, and padded by kh−1−top — with the filter rotated 180°.
 * A channel multiplier m > 1 convolves the c·m channels of dY the same way, then sums each group of m.
 */
function depthwiseInputGradient({ inputs, backend, attrs }: KernelArgs, k: Parts): tf.TensorInfo {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = attrs as unknown as ConvAttrs & { inputShape: Shape4 };
  assertPlain(a, 'depthwise convolution input gradient');
  const [kh, kw, , m] = filter.shape as Shape4;
  const info = tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape as Shape4, a.strides, 1, a.pad, a.dimRoundingMode, true);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const cm = c * m;
  const s = scratch(backend as tf.KernelBackend);
  try {
    // Dilate: stack s−1 zero copies after each element along W, then along H (pack + reshape).
    let d = dy;
    if (sw > 1) {
      const zeros = s.run(k.Fill, {}, { shape: d.shape, value: 0, dtype: 'float32' });
      d = view(s.run(k.Pack, [d, ...Array<tf.TensorInfo>(sw - 1).fill(zeros)], { axis: 3 }), [n, oh, ow * sw, cm]);
    }
    if (sh > 1) {
      const zeros = s.run(k.Fill, {}, { shape: d.shape, value: 0, dtype: 'float32' });
      d = view(s.run(k.Pack, [d, ...Array<tf.TensorInfo>(sh - 1).fill(zeros)], { axis: 2 }), [n, oh * sh, d.shape[2]!, cm]);
    }
    // d holds dY[q/s] at q ≡ 0 (mod s), q < oh·s; dX[y] = Σ_i d[y + top − (kh−1) + i]·W[kh−1−i].
    // Padding that comes out negative (the trailing zeros, unusual explicit pads) is cropped after.
    const padTop = kh - 1 - info.padInfo.top;
    const padLeft = kw - 1 - info.padInfo.left;
    const padBottom = h + kh - 1 - padTop - oh * sh;
    const padRight = w + kw - 1 - padLeft - ow * sw;
    const rotated = view(s.run(k.Reverse, { x: filter }, { dims: [0, 1] }), [kh, kw, cm, 1]);
    const pad = [[0, 0], [Math.max(0, padTop), Math.max(0, padBottom)], [Math.max(0, padLeft), Math.max(0, padRight)], [0, 0]];
    let dx = s.run(k.DepthwiseConv2dNative, { x: d, filter: rotated }, { strides: 1, pad, dilations: 1 });
    if (dx.shape[1] !== h || dx.shape[2] !== w) {
      const top = Math.max(0, -padTop);
      const left = Math.max(0, -padLeft);
      dx = s.run(k.StridedSlice, { x: dx }, stridedSliceAttrs([0, top, left, 0], [n, top + h, left + w, cm], [1, 1, 1, 1]));
    }
    if (m > 1) dx = s.run(k.Sum, { x: view(dx, [n * h * w * c, m]) }, { axis: [1], keepDims: false });
    s.keep(dx);
    return view(dx, [n, h, w, c]);
  } finally {
    s.free();
  }
}
