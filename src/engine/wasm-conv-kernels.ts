import * as tf from '@tensorflow/tfjs-core';

/**
 * Faster wasm kernels for the ops that dominate a training step (see bench/RESULTS.md, "Where a
 * training step's time goes"). TF.js 4.22's wasm backend runs convolutions and plain matrix
 * products in XNNPACK, but its convolution input gradient, transposed matrix products, MaxPoolGrad,
 * Tile and reductions over leading axes are scalar loops 3–200× slower, and its Identity copies.
 * Each kernel here rewrites its op as XNNPACK calls (a forward Conv2D, an untransposed matrix
 * product, an average pooling) or as memory copies and single passes over the wasm heap, and hands
 * any case it does not cover (NCHW, batched products, other dtypes) back to the kernel it replaced.
 * initBackend turns them on unless GRAFT_FAST_KERNELS=0. Every choice depends on shapes only, so
 * results are reproducible bit for bit (but differ in the last bits from TF.js's own kernels).
 */

type KernelArgs = Parameters<tf.KernelFunc>[0];
type Shape4 = [number, number, number, number];
type Fast = (args: KernelArgs, parts: Parts) => tf.TensorInfo | undefined;

/** The wasm internals these kernels use: the heap, and tensor records that share memory. */
interface WasmBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  dataIdMap: { get(dataId: tf.DataId): { id: number; memoryOffset: number } | undefined; delete(dataId: tf.DataId): boolean };
  wasm: { tfjs: { disposeData(id: number): void } };
}

/** wasm's own kernels the fast ones are built from (captured before any is replaced). */
const PART_NAMES = ['Conv2D', 'BatchMatMul', 'AvgPool', 'Transpose', 'StridedSlice'] as const;
type Parts = Record<(typeof PART_NAMES)[number], tf.KernelConfig>;

const FAST: Record<string, Fast> = {
  BatchMatMul: matMul,
  Conv2DBackpropInput: convInputGradient,
  Conv2DBackpropFilter: convFilterGradient,
  MaxPoolGrad: maxPoolGradient,
  Tile: tile,
  Sum: (args, parts) => leadingReduction(args, parts, false),
  Mean: (args, parts) => leadingReduction(args, parts, true),
  Identity: identity,
};

/** The kernel names graft replaces on wasm. */
export const FAST_KERNEL_NAMES: readonly string[] = Object.keys(FAST);

/** Each replaced kernel's previous config (undefined: there was none), to restore and to fall back on. */
const replaced = new Map<string, tf.KernelConfig | undefined>();
const ours = new WeakSet<tf.KernelConfig>();

/**
 * Registers the fast kernels for wasm in place of TF.js's (and of graft's own Conv2DBackpropFilter
 * from wasm-kernels.ts, so call this after registerWasmGradKernels). TF.js's registerKernel only
 * warns and overwrites when a name is taken, so each kernel is unregistered first and kept for
 * `unregisterFastConvKernels` and for the cases the fast one leaves to it. Idempotent; returns
 * false (registering nothing) when a wasm kernel they are built from is missing.
 */
export function registerFastConvKernels(): boolean {
  const found = PART_NAMES.map((name) => {
    const k = tf.getKernel(name, 'wasm');
    return k && ours.has(k) ? replaced.get(name) : k;
  });
  if (found.some((k) => k === undefined)) return false;
  const parts = Object.fromEntries(PART_NAMES.map((name, i) => [name, found[i]])) as Parts;
  for (const [kernelName, fast] of Object.entries(FAST)) {
    const previous = tf.getKernel(kernelName, 'wasm');
    if (previous && ours.has(previous)) continue;
    if (previous) tf.unregisterKernel(kernelName, 'wasm');
    replaced.set(kernelName, previous);
    const config: tf.KernelConfig = {
      kernelName,
      backendName: 'wasm',
      kernelFunc: (args: KernelArgs) => fast(args, parts) ?? fallback(kernelName, previous, args),
    };
    // A backend created later runs setupFunc for the registered kernel: keep the replaced one's.
    if (previous?.setupFunc) config.setupFunc = previous.setupFunc;
    if (previous?.disposeFunc) config.disposeFunc = previous.disposeFunc;
    ours.add(config);
    tf.registerKernel(config);
  }
  return true;
}

/** Puts back the kernels registerFastConvKernels replaced (TF.js's path). Idempotent. */
export function unregisterFastConvKernels(): void {
  for (const [kernelName, previous] of replaced) {
    const current = tf.getKernel(kernelName, 'wasm');
    if (!current || !ours.has(current)) continue;
    tf.unregisterKernel(kernelName, 'wasm');
    if (previous) tf.registerKernel(previous);
  }
  replaced.clear();
}

/** Whether every fast kernel is the one registered for wasm now. */
export function fastConvKernelsActive(): boolean {
  return FAST_KERNEL_NAMES.every((name) => {
    const k = tf.getKernel(name, 'wasm');
    return k !== undefined && ours.has(k);
  });
}

function fallback(kernelName: string, previous: tf.KernelConfig | undefined, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  if (!previous) throw new Error(`graft: the wasm backend has no ${kernelName} kernel for this case (${describeArgs(args)}); use the cpu backend.`);
  return previous.kernelFunc(args);
}

function describeArgs({ inputs, attrs }: KernelArgs): string {
  const shapes = Object.entries(inputs).map(([k, t]) => `${k} [${t?.shape.join(', ') ?? ''}]`);
  return [...shapes, `attrs ${JSON.stringify(attrs)}`].join(', ');
}

// ---- scratch tensors ----------------------------------------------------------------------------

/**
 * Runs wasm kernels and frees what they made. Kernel outputs are backend records, not tensors: the
 * engine never sees, let alone frees, them. An alias is a second record (fresh id) over the same
 * memory: XNNPACK's matrix product caches its packed right operand by that id, so an input passed
 * there under an alias can never meet a stale cache entry of another shape, and releasing the alias
 * (without freeing the memory) drops the entry.
 */
class Scratch {
  private readonly temps: tf.TensorInfo[] = [];
  private readonly aliases: tf.TensorInfo[] = [];
  constructor(readonly backend: WasmBackend) {}

  run(kernel: tf.KernelConfig, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown> = {}): tf.TensorInfo {
    const out = kernel.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, backend: this.backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
    this.temps.push(out);
    return out;
  }

  output(shape: number[], dtype: tf.DataType = 'float32'): tf.TensorInfo {
    const out = this.backend.makeOutput(shape, dtype);
    this.temps.push(out);
    return out;
  }

  isTemp(t: tf.TensorInfo): boolean {
    return this.temps.some((u) => u.dataId === t.dataId);
  }

  /** `t`'s memory (from element `offset`) under a fresh id, with `shape`. */
  alias(t: tf.TensorInfo, shape: number[], offset = 0): tf.TensorInfo {
    const base = this.backend.dataIdMap.get(t.dataId)!.memoryOffset;
    const a = this.backend.makeOutput(shape, t.dtype, base + offset * 4);
    this.aliases.push(a);
    return a;
  }

  heap(t: tf.TensorInfo): Float32Array {
    return this.backend.typedArrayFromHeap(t) as Float32Array;
  }

  /** Takes `t` (or the data it views) out of the list to free: it is the kernel's result. */
  keep(t: tf.TensorInfo): void {
    const i = this.temps.findIndex((u) => u.dataId === t.dataId);
    if (i >= 0) this.temps.splice(i, 1);
  }

  free(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    for (const a of this.aliases) {
      this.backend.wasm.tfjs.disposeData(this.backend.dataIdMap.get(a.dataId)!.id);
      this.backend.dataIdMap.delete(a.dataId);
    }
  }
}

function withScratch(backend: unknown, f: (s: Scratch) => tf.TensorInfo | undefined): tf.TensorInfo | undefined {
  const s = new Scratch(backend as WasmBackend);
  try {
    const out = f(s);
    if (out) s.keep(out);
    return out;
  } finally {
    s.free();
  }
}

const view = (t: tf.TensorInfo, shape: number[]): tf.TensorInfo => ({ ...t, shape });
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

// ---- matrix products ----------------------------------------------------------------------------

/**
 * BatchMatMul with a transposed operand. wasm hands XNNPACK only the untransposed, unbatched
 * product; with transposeA or transposeB it runs a scalar triple loop, 6–20× slower (the Dense
 * layers' weight and input gradients: 7 ms against 1 ms for (32×784)ᵀ · 32×128). Here the
 * transposed operand is transposed once (a copy), or the product is computed transposed,
 * (A·Bᵀ)ᵀ = B·Aᵀ, whichever copies less (see copyCost). The choice depends on shapes only, so a
 * run is reproducible bit for bit.
 */
function matMul({ inputs, backend, attrs }: KernelArgs, p: Parts): tf.TensorInfo | undefined {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
  if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  if (a.shape.length < 2 || b.shape.length < 2 || size(a.shape.slice(0, -2)) !== 1 || size(b.shape.slice(0, -2)) !== 1) return undefined;
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  if ((transposeA ? ar : ac) !== (transposeB ? bc : br)) return undefined; // let TF.js word the error
  const outShape = [...Array<number>(Math.max(a.shape.length, b.shape.length) - 2).fill(1), transposeA ? ac : ar, transposeB ? br : bc];
  return withScratch(backend, (s) => view(product(s, p, view(a, [ar, ac]), view(b, [br, bc]), transposeA, transposeB), outShape));
}

/** a·b of 2-D a and b, either transposed, with XNNPACK's untransposed product; returns [m, n]. */
function product(s: Scratch, p: Parts, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo {
  const [ar, ac] = a.shape as [number, number];
  const [br, bc] = b.shape as [number, number];
  const [m, k, n] = [transposeA ? ac : ar, transposeA ? ar : ac, transposeB ? br : bc];
  const t = (x: tf.TensorInfo, rows: number, cols: number): tf.TensorInfo => view(s.run(p.Transpose, { x: view(x, [rows, cols]) }, { perm: [1, 0] }), [cols, rows]);
  // x [rows, inner] · w [inner, cols]; XNNPACK packs w and caches it by id, so inputs go under an alias.
  const mm = (x: tf.TensorInfo, w: tf.TensorInfo, rows: number, inner: number, cols: number): tf.TensorInfo => {
    const weights = s.isTemp(w) ? view(w, [1, inner, cols]) : s.alias(w, [1, inner, cols]);
    return view(s.run(p.BatchMatMul, { a: view(x, [1, rows, inner]), b: weights }, { transposeA: false, transposeB: false }), [rows, cols]);
  };
  // What each way copies: transposes (of [rows, cols] matrices) and XNNPACK's packing of its right operand.
  const cost = (transposes: Array<[number, number]>, packed: number): number => transposes.reduce((sum, [r, c]) => sum + copyCost(r, c), packed);
  if (!transposeA && !transposeB) return mm(a, b, m, k, n);
  if (transposeA && transposeB) {
    // (B·A)ᵀ, or transpose both operands.
    return cost([[n, m]], k * m) <= cost([[k, m], [n, k]], k * n) ? t(mm(b, a, n, k, m), n, m) : mm(t(a, k, m), t(b, n, k), m, k, n);
  }
  if (transposeA) return cost([[k, m]], k * n) <= cost([[k, n], [n, m]], k * m) ? mm(t(a, k, m), b, m, k, n) : t(mm(t(b, k, n), a, n, k, m), n, m);
  return cost([[n, k]], n * k) <= cost([[m, k], [n, m]], m * k) ? mm(a, t(b, n, k), m, k, n) : t(mm(b, t(a, m, k), n, k, m), n, m);
}

/**
 * The relative cost of wasm's Transpose of a [rows, cols] matrix, in packed elements (XNNPACK
 * packs at 4–8 ns an element). Measured: tall matrices of 32–48 columns take about 8 ns an element
 * (each output row strides through all the rows), narrow or wide ones about 2 ns.
 */
function copyCost(rows: number, cols: number): number {
  return rows * cols * (rows > cols ? Math.min(4, Math.max(1, cols / 8)) : 1);
}

// ---- convolution gradients ----------------------------------------------------------------------

interface ConvAttrs {
  strides: number | [number, number];
  pad: Parameters<typeof tf.backend_util.computeConv2DInfo>[4];
  dataFormat?: string;
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

const plain = (a: ConvAttrs): boolean => a.dataFormat !== 'NCHW' && [a.dilations ?? 1].flat().every((d) => d === 1);

/**
 * Conv2D's input gradient as a forward convolution (XNNPACK) of dY with the filter rotated 180° and
 * its in/out channels swapped. For stride s, dY first gets s−1 zeros between its elements; the
 * padding puts each dY element where its window started: kh−1−top rows before, what makes h rows
 * after. TF.js's wasm kernel is a scalar loop, 5–25× slower: 1.0 s against 0.09 s for a 3×3
 * 32→64 convolution of 32 32×32 images. (With stride 2, 3 of 4 products are with zeros; still on
 * par with TF.js's for MobileNetV2's first layer, whose input gradient TF.js computes and drops.)
 */
function convInputGradient({ inputs, backend, attrs }: KernelArgs, p: Parts): tf.TensorInfo | undefined {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = attrs as unknown as ConvAttrs & { inputShape: Shape4 };
  if (!plain(a) || dy.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;
  const info = tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape as Shape4, a.strides, 1, a.pad, a.dimRoundingMode);
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, outChannels: oc, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  if (size(a.inputShape) === 0 || size(dy.shape) === 0) return undefined;
  return withScratch(backend, (s) => {
    const rotated = rotateFilter(s, p, filter);
    const padTop = kh - 1 - info.padInfo.top;
    const padLeft = kw - 1 - info.padInfo.left;
    const padBottom = h + kh - 1 - padTop - ((oh - 1) * sh + 1);
    const padRight = w + kw - 1 - padLeft - ((ow - 1) * sw + 1);
    if (sh === 1 && sw === 1 && Math.min(padTop, padLeft, padBottom, padRight) >= 0) {
      const pad = [[0, 0], [padTop, padBottom], [padLeft, padRight], [0, 0]];
      return s.run(p.Conv2D, { x: dy, filter: rotated }, { strides: 1, pad, dilations: 1, dataFormat: 'NHWC' });
    }
    // Strided (or unusually padded): lay dY out dilated and padded, then a valid convolution.
    const rows = h + kh - 1;
    const cols = w + kw - 1;
    const spread = s.output([n, rows, cols, oc]);
    const src = s.heap(dy);
    const dst = s.heap(spread);
    dst.fill(0);
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < oh; y++) {
        const r = padTop + y * sh;
        if (r < 0 || r >= rows) continue; // a window wholly in the padding: it read no input
        for (let x = 0; x < ow; x++) {
          const q = padLeft + x * sw;
          if (q < 0 || q >= cols) continue;
          const from = ((b * oh + y) * ow + x) * oc;
          dst.set(src.subarray(from, from + oc), ((b * rows + r) * cols + q) * oc);
        }
      }
    }
    return s.run(p.Conv2D, { x: spread, filter: rotated }, { strides: 1, pad: 'valid', dilations: 1, dataFormat: 'NHWC' });
  });
}

/**
 * The filter turned 180° with in/out channels swapped: W'[i, j, o, c] = W[kh−1−i, kw−1−j, c, o].
 * Rotating reverses the order of the kh·kw taps, each a block of c·o values: one transpose of
 * every block, then the blocks copied back in reverse (memory copies, where wasm's Reverse kernel
 * moves element by element).
 */
function rotateFilter(s: Scratch, p: Parts, filter: tf.TensorInfo): tf.TensorInfo {
  const [kh, kw, c, o] = filter.shape as Shape4;
  const swapped = s.run(p.Transpose, { x: view(filter, [kh * kw, c, o]) }, { perm: [0, 2, 1] });
  const rotated = s.output([kh, kw, o, c]);
  const src = s.heap(swapped);
  const dst = s.heap(rotated);
  const block = c * o;
  for (let tap = 0; tap < kh * kw; tap++) dst.set(src.subarray(tap * block, (tap + 1) * block), (kh * kw - 1 - tap) * block);
  return rotated;
}

/**
 * Conv2D's filter gradient, dW[i, j, c, o] = Σ_{n,y,x} Xpad[n, y·s+i, x·s+j, c] · dY[n, y, x, o], as
 * one forward convolution (XNNPACK): swap the batch and channel axes of X ([c, h, w, n]: c images of
 * n channels), use dY as an oh×ow filter from n to o channels ([oh, ow, n, o]) dilated by the stride;
 * its kh×kw output for image c is dW[:, :, c, :]. Against graft's per-tap matrix products
 * (wasm-kernels.ts): 1.5–3× faster on 32×32 and 16×16 images, 16× for MobileNetV2's strided first
 * layer, on par for VGG16's 4×4×512 (both there are bound by XNNPACK's matrix product).
 */
function convFilterGradient({ inputs, backend, attrs }: KernelArgs, p: Parts): tf.TensorInfo | undefined {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as ConvAttrs & { filterShape: Shape4 };
  if (!plain(a) || x.dtype !== 'float32' || dy.dtype !== 'float32' || size(x.shape) === 0 || size(dy.shape) === 0) return undefined;
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode);
  const { inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: oc, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && top === 0 && left === 0) {
    // A pointwise convolution's filter gradient is one matrix product, Xᵀ·dY ([c, rows] · [rows, o]).
    const rows = size(x.shape.slice(0, 3));
    return withScratch(backend, (s) => view(product(s, p, view(x, [rows, c]), view(dy, [rows, oc]), true, false), [1, 1, c, oc]));
  }
  return withScratch(backend, (s) => {
    const images = s.run(p.Transpose, { x }, { perm: [3, 1, 2, 0] });
    const taps = s.run(p.Transpose, { x: dy }, { perm: [1, 2, 0, 3] });
    // The dilated filter spans (oh−1)·s + 1 rows, so kh output rows need (oh−1)·s + kh padded rows.
    const bottom = (oh - 1) * sh + kh - h - top;
    const right = (ow - 1) * sw + kw - w - left;
    const pad = [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]];
    let dw = s.run(p.Conv2D, { x: images, filter: taps }, { strides: 1, pad, dilations: [sh, sw], dataFormat: 'NHWC' });
    // Rows a valid convolution never read (bottom < 0) give extra outputs at the end: crop them.
    if (dw.shape[1] !== kh || dw.shape[2] !== kw) {
      dw = s.run(p.StridedSlice, { x: dw }, { begin: [0, 0, 0, 0], end: [c, kh, kw, oc], strides: [1, 1, 1, 1], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 });
    }
    return s.run(p.Transpose, { x: dw }, { perm: [1, 2, 0, 3] });
  });
}

// ---- memory-bound ops ---------------------------------------------------------------------------

/**
 * Tile as memory copies: each input row once, then each block doubled with copyWithin. wasm's
 * kernel computes every output element's source index (130 ms for the [1,1,1,32] → 32×32×32×32
 * tile of BatchNorm's gradient; about 1 ms here).
 */
function tile({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | undefined {
  const { x } = inputs as { x: tf.TensorInfo };
  const { reps } = attrs as { reps: number[] };
  if ((x.dtype !== 'float32' && x.dtype !== 'int32') || x.shape.length === 0) return undefined;
  const inShape = x.shape;
  const outShape = inShape.map((d, i) => d * reps[i]!);
  const wasm = backend as WasmBackend;
  const out = wasm.makeOutput(outShape, x.dtype);
  if (size(outShape) === 0) return out;
  const src = wasm.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const dst = wasm.typedArrayFromHeap(out) as Float32Array | Int32Array;
  const rank = inShape.length;
  const inStride = inShape.map((_, d) => size(inShape.slice(d + 1)));
  const outStride = outShape.map((_, d) => size(outShape.slice(d + 1)));
  const fill = (d: number, from: number, to: number): void => {
    const len = inShape[d]!;
    if (d === rank - 1) dst.set(src.subarray(from, from + len), to);
    else for (let i = 0; i < len; i++) fill(d + 1, from + i * inStride[d]!, to + i * outStride[d]!);
    const block = len * outStride[d]!;
    const total = block * reps[d]!;
    for (let done = block; done < total; done *= 2) dst.copyWithin(to + done, to, to + Math.min(done, total - done));
  };
  fill(0, 0, 0);
  return out;
}

/**
 * Sum or Mean over axes that are not the innermost (BatchNorm's statistics and gradients reduce a
 * [n, h, w, c] tensor over n, h, w; global average pooling over h, w). wasm transposes the reduced
 * axes inward first, element by element (7 ms for 32×32×32×32); here XNNPACK's average pooling
 * reads X once as [outer, r, 1, inner] with an r×1 window (0.4 ms); a sum is that mean times r.
 */
function leadingReduction({ inputs, backend, attrs }: KernelArgs, p: Parts, mean: boolean): tf.TensorInfo | undefined {
  const { x } = inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = attrs as { axis: number | number[]; keepDims: boolean };
  if (x.dtype !== 'float32' || size(x.shape) === 0) return undefined;
  const axes = tf.util.parseAxisParam(axis, x.shape);
  // Collapse to [outer, r, inner]: the reduced axes must be contiguous (ignoring size-1 axes).
  const reducedAt = x.shape.map((d, i) => (d === 1 ? undefined : axes.includes(i)));
  const first = reducedAt.indexOf(true);
  const last = reducedAt.lastIndexOf(true);
  if (first < 0 || reducedAt.slice(first, last + 1).some((r) => r === false)) return undefined;
  const outer = size(x.shape.slice(0, first));
  const r = size(x.shape.slice(first, last + 1));
  const inner = size(x.shape.slice(last + 1));
  if (inner < 2) return undefined; // innermost reductions are wasm's fast case
  const [reducedShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
  const outShape = keepDims ? tf.backend_util.expandShapeToKeepDim(reducedShape, axes) : reducedShape;
  return withScratch(backend, (s) => {
    const pooled = s.run(p.AvgPool, { x: view(x, [outer, r, 1, inner]) }, { filterSize: [r, 1], strides: 1, pad: 'valid' });
    if (!mean) {
      const values = s.heap(pooled);
      for (let i = 0; i < values.length; i++) values[i] = values[i]! * r;
    }
    return view(pooled, outShape);
  });
}

/**
 * MaxPool's gradient: each dY element goes to the first (row-major) strict maximum of its window,
 * as TF.js's cpu kernel does; none when the window holds nothing above −∞. One pass over the
 * windows with the channels innermost (contiguous reads); wasm's kernel recomputes the maximum for
 * every input pixel from every window covering it (45 ms against 15 ms for the 2×2 pooling of
 * 32×32×32×32 on a busy machine).
 */
function maxPoolGradient({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | undefined {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const a = attrs as { filterSize: number | [number, number]; strides: number | [number, number]; pad: Parameters<typeof tf.backend_util.computePool2DInfo>[4]; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
  if (input.dtype !== 'float32' || dy.dtype !== 'float32' || input.shape.length !== 4) return undefined;
  const info = tf.backend_util.computePool2DInfo(input.shape as Shape4, a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const wasm = backend as WasmBackend;
  const out = wasm.makeOutput([...input.shape], 'float32');
  const x = wasm.typedArrayFromHeap(input) as Float32Array;
  const g = wasm.typedArrayFromHeap(dy) as Float32Array;
  const dx = wasm.typedArrayFromHeap(out) as Float32Array;
  dx.fill(0);
  const taps = new Int32Array(fh * fw); // offsets of the window's pixels inside the image
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sh - info.padInfo.top;
      for (let ox = 0; ox < ow; ox++) {
        const x0 = ox * sw - info.padInfo.left;
        let count = 0;
        for (let i = 0; i < fh; i++) {
          const y = y0 + i;
          if (y < 0 || y >= h) continue;
          for (let j = 0; j < fw; j++) {
            const q = x0 + j;
            if (q >= 0 && q < w) taps[count++] = ((b * h + y) * w + q) * c;
          }
        }
        const from = ((b * oh + oy) * ow + ox) * c;
        if (count === 4) {
          // The 2×2 window of most CNNs, unrolled: about twice as fast as the loop below.
          const p0 = taps[0]!;
          const p1 = taps[1]!;
          const p2 = taps[2]!;
          const p3 = taps[3]!;
          for (let ch = 0; ch < c; ch++) {
            let best = -Infinity;
            let at = -1;
            let v = x[p0 + ch]!;
            if (v > best) {
              best = v;
              at = p0 + ch;
            }
            v = x[p1 + ch]!;
            if (v > best) {
              best = v;
              at = p1 + ch;
            }
            v = x[p2 + ch]!;
            if (v > best) {
              best = v;
              at = p2 + ch;
            }
            v = x[p3 + ch]!;
            if (v > best) {
              best = v;
              at = p3 + ch;
            }
            if (at >= 0) dx[at] = dx[at]! + g[from + ch]!;
          }
          continue;
        }
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let at = -1;
          for (let t = 0; t < count; t++) {
            const v = x[taps[t]! + ch]!;
            if (v > best) {
              best = v;
              at = taps[t]! + ch;
            }
          }
          if (at >= 0) dx[at] = dx[at]! + g[from + ch]!;
        }
      }
    }
  }
  return out;
}

/**
 * Identity without the copy: the output shares the input's memory and counts a reference, as the
 * cpu backend's does (tensors are immutable). TF.js clones saved tensors for every custom gradient
 * and optimizer step: 1,700 copies a MobileNetV2 step on wasm.
 */
function identity({ inputs, backend }: KernelArgs): tf.TensorInfo | undefined {
  const { x } = inputs as { x: tf.TensorInfo };
  if (x.dtype === 'string') return undefined;
  (backend as tf.KernelBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}
