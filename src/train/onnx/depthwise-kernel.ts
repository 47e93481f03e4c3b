import { F32, forLoop, I32, op, V128, wasmApi, wasmModule, type WasmFunction, type WasmMemory } from './wasm-encode.js';

/** A depthwise convolution's geometry: channels, input and output sizes, kernel, strides, dilations, begin pads. */
export interface DepthwiseGeometry {
  channels: number;
  inSize: [number, number];
  outSize: [number, number];
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  /** Top and left pads (the end pads only decide the output size, which is given). */
  pads: [number, number];
}

// Parameters (i32): x, dy, out, planes (N·C), C, x plane floats, dy plane floats, W, W', table, kh, kw, sh, sw.
const [X, DY, OUT, PLANES, C, XPLANE, DYPLANE, W, WO, TABLE, KH, KW, SH, SW] = Array.from({ length: 14 }, (_, i) => i) as [number, number, number, number, number, number, number, number, number, number, number, number, number, number];
// Locals (i32), then the vector accumulator and the scalar one.
const [PLANE, CH, XP, DYP, I, J, HO, WOI, TI, TJ, HOHI, ROW, WOHI, COL, END4, XROW, DYROW, O] = Array.from({ length: 18 }, (_, i) => 14 + i) as [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];
const [ACC, ACCS] = [32, 33];
// The four-wide loops' pointers into X and dY, dY's end, and a second accumulator (two vectors an iteration).
const [XA, DA, DEND, ACC2] = [34, 35, 36, 37];

const get = (...locals: number[]): number[] => locals.flatMap((l) => op.get(l));
const c = op.i32Const;
/** The i32 at `base` + offset bytes. */
const field = (base: number, offset: number): number[] => [...op.get(base), ...c(offset), ...op.i32Add, ...op.i32Load];

/**
 * dW[c, i, j] += Σ over planes (n, c) and output positions (y', x') of X[n, c, y'·sh + i·dh − pt,
 * x'·sw + j·dw − pl] · dY[n, c, y', x'], for every tap. The table (built by `DepthwiseKernel`) holds
 * per kernel row i its first and end output rows inside X and its row offset, and per column j its
 * first and end output columns, its column offset and where the four-wide part of the columns
 * ends. Strides 1 and 2 run four output columns at a time (stride 2 takes every other float of
 * eight), other strides and the remainder one at a time.
 */
function depthwiseFunction(): WasmFunction {
  const f32At = (addr: number[]): number[] => [...addr, ...op.f32Load];
  const times4 = (v: number[]): number[] => [...v, ...c(4), ...op.i32Mul];
  const column = (scale: number[]): number[] => [...get(XROW, WOI), ...scale, ...op.i32Mul, ...op.i32Add];
  // Four output columns from X at `at` bytes past the pointer: stride 1 reads them as they are, stride 2 every other float of eight.
  const xs1 = (at: number): number[] => [...get(XA), ...op.loadUnalignedAt(at)];
  const xs2 = (at: number): number[] => [...get(XA), ...op.loadUnalignedAt(at), ...get(XA), ...op.loadUnalignedAt(at + 16), ...op.evenLanes];
  const madd = (acc: number, x: number[], dyAt: number): number[] => [...get(acc), ...x, ...get(DA), ...op.loadUnalignedAt(dyAt), ...op.mul, ...op.add, ...op.set(acc)];
  const advance = (xBytes: number, dyBytes: number): number[] => [...get(XA), ...c(xBytes), ...op.i32Add, ...op.set(XA), ...get(DA), ...c(dyBytes), ...op.i32Add, ...op.set(DA)];
  // From column woi to end4: eight columns an iteration into two accumulators, then four if left.
  const wide = (xs: (at: number) => number[], xStep: number): number[] => [
    ...column(c(xStep / 4)), ...op.set(XA),
    ...get(DYROW, WOI), ...c(4), ...op.i32Mul, ...op.i32Add, ...op.set(DA),
    ...get(DYROW, END4), ...c(4), ...op.i32Mul, ...op.i32Add, ...op.set(DEND),
    ...op.block, ...op.loop,
    ...get(DA), ...c(32), ...op.i32Add, ...get(DEND), ...op.i32GtS, ...op.brIf(1),
    ...madd(ACC, xs(0), 0), ...madd(ACC2, xs(xStep), 16),
    ...advance(2 * xStep, 32),
    ...op.br(0),
    ...op.end, ...op.end,
    ...get(DA, DEND), ...op.i32LtS, ...op.if, ...madd(ACC, xs(0), 0), ...op.end,
    ...get(END4), ...op.set(WOI),
  ];
  const stride1 = wide(xs1, 16);
  const stride2 = wide(xs2, 32);
  const rest = forLoop(WOI, get(WOI), get(WOHI), [...get(ACCS), ...f32At(column([...get(SW), ...c(4), ...op.i32Mul])), ...f32At([...get(DYROW, WOI), ...c(4), ...op.i32Mul, ...op.i32Add]), ...op.f32Mul, ...op.f32Add, ...op.set(ACCS)]);
  const row = [
    // xrow = xp + ((ho·sh + row)·W + col)·4; dyrow = dyp + ho·W'·4
    ...get(XP), ...times4([...get(HO, SH), ...op.i32Mul, ...get(ROW), ...op.i32Add, ...get(W), ...op.i32Mul, ...get(COL), ...op.i32Add]), ...op.i32Add, ...op.set(XROW),
    ...get(DYP), ...times4([...get(HO, WO), ...op.i32Mul]), ...op.i32Add, ...op.set(DYROW),
    ...field(TJ, 0), ...op.set(WOI),
    ...get(SW), ...c(1), ...op.i32Eq, ...op.if, ...stride1, ...op.else, ...get(SW), ...c(2), ...op.i32Eq, ...op.if, ...stride2, ...op.end, ...op.end,
    ...rest,
  ];
  const tap = [
    ...get(TABLE), ...get(KH), ...c(12), ...op.i32Mul, ...op.i32Add, ...get(J), ...c(16), ...op.i32Mul, ...op.i32Add, ...op.set(TJ),
    ...field(TJ, 4), ...op.set(WOHI), ...field(TJ, 8), ...op.set(COL), ...field(TJ, 12), ...op.set(END4),
    ...op.f32Zero, ...op.splat, ...op.set(ACC), ...op.f32Zero, ...op.splat, ...op.set(ACC2), ...op.f32Zero, ...op.set(ACCS),
    ...forLoop(HO, field(TI, 0), get(HOHI), row),
    // out[c·kh·kw + i·kw + j] += ((acc0 + acc1) + acc2) + acc3 + accs
    ...get(OUT), ...times4([...get(CH, KH), ...op.i32Mul, ...get(I), ...op.i32Add, ...get(KW), ...op.i32Mul, ...get(J), ...op.i32Add]), ...op.i32Add, ...op.tee(O),
    ...get(O), ...op.f32Load,
    ...get(ACC, ACC2), ...op.add, ...op.set(ACC),
    ...get(ACC), ...op.lane(0), ...get(ACC), ...op.lane(1), ...op.f32Add, ...get(ACC), ...op.lane(2), ...op.f32Add, ...get(ACC), ...op.lane(3), ...op.f32Add, ...get(ACCS), ...op.f32Add,
    ...op.f32Add, ...op.f32Store,
  ];
  const kernelRow = [
    ...get(TABLE), ...get(I), ...c(12), ...op.i32Mul, ...op.i32Add, ...op.set(TI),
    ...field(TI, 4), ...op.set(HOHI), ...field(TI, 8), ...op.set(ROW),
    ...forLoop(J, c(0), get(KW), tap),
  ];
  const plane = [
    ...get(X), ...times4([...get(PLANE, XPLANE), ...op.i32Mul]), ...op.i32Add, ...op.set(XP),
    ...get(DY), ...times4([...get(PLANE, DYPLANE), ...op.i32Mul]), ...op.i32Add, ...op.set(DYP),
    ...forLoop(I, c(0), get(KH), kernelRow),
    // The channel of the next plane.
    ...get(CH), ...c(1), ...op.i32Add, ...op.set(CH),
    ...get(CH, C), ...op.i32Eq, ...op.if, ...c(0), ...op.set(CH), ...op.end,
  ];
  return { name: 'depthwise_dw', params: Array<number>(14).fill(I32), locals: [...Array<number>(18).fill(I32), V128, F32, I32, I32, I32, V128], body: [...c(0), ...op.set(CH), ...forLoop(PLANE, c(0), get(PLANES), plane)] };
}

type KernelFn = (...args: number[]) => void;

const PAGE = 65536;
/** The table: 3 i32 per kernel row, 4 per column; room for kernels up to 64 × 64. */
const TABLE_BYTES = 64 * 12 + 64 * 16;
/** Bytes after each array that stride 2's eight-float loads may read past its last float. */
const SLACK = 64;
const align = (n: number): number => Math.ceil(n / 64) * 64;

let wanted = false;
let compiled: { module: object } | null | undefined;

/**
 * Whether heavy steps take depthwise weight gradients out of the step graph. Off by default: on
 * this project's 2-core machine the MobileNetV2 step measured the same with and without it
 * (bench/RESULTS.md: onnxruntime's run 10–15 ms shorter, the kernel as long again after it, on
 * one thread while onnxruntime's spin). Tests and `bench/step-time.mjs --depthwise-kernel` turn it on.
 */
export function useDepthwiseKernel(on: boolean): void {
  wanted = on;
}

export function depthwiseKernelWanted(): boolean {
  return wanted;
}

/**
 * Depthwise convolutions' weight gradients outside onnxruntime, from X and dY the step graph
 * writes into this kernel's memory (depthwise-outside.ts): one pass over each plane per kernel
 * tap, four output columns at a time in 128-bit SIMD. In the graph the same sums are a grouped
 * Conv whose im2col spreads every image 9× (MobileNetV2 α 0.35 at 64×64: ≈28 ms of a 130 ms step,
 * bench/RESULTS.md). The memory grows with the batch; views are made again after it does.
 */
export class DepthwiseKernel {
  /** Floats of room for dW, as the last `arrays` call laid out. */
  private outRoom = 0;

  private constructor(
    private readonly fn: KernelFn,
    private readonly memory: WasmMemory,
  ) {}

  /** A kernel, or null where WebAssembly SIMD is missing. */
  static create(): DepthwiseKernel | null {
    if (!wasmApi) return null;
    if (compiled === undefined) {
      const bytes = wasmModule([depthwiseFunction()]);
      compiled = wasmApi.validate(bytes) ? { module: new wasmApi.Module(bytes) } : null;
    }
    if (!compiled) return null;
    let memory: WasmMemory;
    try {
      memory = new wasmApi.Memory({ initial: 1 });
    } catch {
      return null;
    }
    const instance = new wasmApi.Instance(compiled.module, { env: { memory } });
    return new DepthwiseKernel(instance.exports.depthwise_dw as KernelFn, memory);
  }

  /**
   * Views for arrays of these float counts (each layer's X and dY at this batch), in this
   * kernel's memory, after the table and room for `outFloats` floats of results; the memory grows
   * to fit (false where it cannot).
   */
  arrays(floats: readonly number[], outFloats: number): Float32Array[] | false {
    let at = TABLE_BYTES + align(outFloats * 4 + SLACK);
    const offsets = floats.map((n) => {
      const o = at;
      at += align(n * 4 + SLACK);
      return o;
    });
    const need = Math.ceil(at / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (need > 0) {
      try {
        this.memory.grow(need);
      } catch {
        return false;
      }
    }
    this.outRoom = outFloats;
    return floats.map((n, i) => new Float32Array(this.memory.buffer, offsets[i]!, n));
  }

  /** dW [C, kh, kw] of one depthwise convolution over a batch of `batch` images, X and dY views from `arrays`. */
  weightGradient(g: DepthwiseGeometry, x: Float32Array, dy: Float32Array, batch: number): Float32Array {
    const [kh, kw] = g.kernel;
    const [h, w] = g.inSize;
    const [ho, wo] = g.outSize;
    const [sh, sw] = g.strides;
    const [dh, dw] = g.dilations;
    const [pt, pl] = g.pads;
    if (kh > 64 || kw > 64) throw new Error(`depthwise kernel of ${kh}×${kw} taps: at most 64×64`);
    if (g.channels * kh * kw > this.outRoom) throw new Error(`dW of ${g.channels * kh * kw} floats in room for ${this.outRoom}: lay the arrays out for it first`);
    const table = new Int32Array(this.memory.buffer, 0, TABLE_BYTES / 4);
    // Output rows y' whose input row y'·s + i·d − p lies inside 0 … size − 1, as [first, end).
    const range = (i: number, s: number, d: number, p: number, size: number, out: number): [number, number] => {
      const first = Math.max(0, Math.ceil((p - i * d) / s));
      const end = Math.min(out, Math.floor((size - 1 + p - i * d) / s) + 1);
      return [first, Math.max(first, end)];
    };
    for (let i = 0; i < kh; i++) {
      const [first, end] = range(i, sh, dh, pt, h, ho);
      table.set([first, end, i * dh - pt], i * 3);
    }
    for (let j = 0; j < kw; j++) {
      const [first, end] = range(j, sw, dw, pl, w, wo);
      const end4 = sw === 1 || sw === 2 ? first + Math.floor((end - first) / 4) * 4 : first;
      table.set([first, end, j * dw - pl, end4], kh * 3 + j * 4);
    }
    const floats = g.channels * kh * kw;
    const out = new Float32Array(this.memory.buffer, TABLE_BYTES, floats);
    out.fill(0);
    this.fn(x.byteOffset, dy.byteOffset, TABLE_BYTES, batch * g.channels, g.channels, h * w, ho * wo, w, wo, 0, kh, kw, sh, sw);
    return out;
  }
}
