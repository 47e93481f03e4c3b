import { F32, I32, op, V128, wasmModule, type WasmFunction } from './wasm-encode.js';

/** How Adam's weight decay enters: none, L2 on the gradient (adam), or decoupled on the weight (adamw). */
export type Decay = 'none' | 'l2' | 'decoupled';

/** One variable's arrays in the kernel's memory: weight, gradient and Adam's two moments, each padded to whole 16 bytes with zeros. */
export interface AdamArrays {
  w: Float32Array;
  g: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** Scalars of one update, each rounded to float32 as the step graph holds it (optimizer-graph.ts). */
export interface AdamScalars {
  beta1: number;
  beta2: number;
  /** 1 − β1^t and 1 − β2^t, as fed to the graph (oma1, oma2). */
  oma1: number;
  oma2: number;
  epsilon: number;
  /** The layer's rate this step. */
  rate: number;
  /** The weight-decay factor (0: none). */
  weightDecay: number;
}

// Parameter and local indices of the kernel functions.
const [W, G, M, V, BYTES] = [0, 1, 2, 3, 4];
const SCALARS = 9; // b1, c1, b2, c2, oma1, oma2, eps, −lr, x (wd or keep)
const I = 5 + SCALARS;
const splatOf = (k: number): number => I + 1 + k; // v128 copies of the scalars
const [B1, C1, B2, C2, OMA1, OMA2, EPS, MLR, X] = Array.from({ length: SCALARS }, (_, k) => splatOf(k)) as number[] as [number, number, number, number, number, number, number, number, number];
const [GV, M2, V2] = [I + 1 + SCALARS, I + 2 + SCALARS, I + 3 + SCALARS];

const at = (base: number): number[] => [...op.get(base), ...op.get(I), ...op.i32Add];

/**
 * TF.js's Adam, op for op as optimizer-graph.ts writes it (so float32 rounding matches the graph's
 * nodes): m' = m·β1 + g·(1 − β1); v' = v·β2 + (g·g)·(1 − β2); w' = (m'/oma1) / (√(v'/oma2) + ε) · (−lr) + w,
 * with L2 decay g + w·wd first, or decoupled decay w·(1 − lr·wd) as the last term, four floats at a time.
 */
function adamFunction(name: string, decay: Decay): WasmFunction {
  const splats = Array.from({ length: SCALARS }, (_, k) => [...op.get(5 + k), ...op.splat, ...op.set(splatOf(k))]).flat();
  const grad = decay === 'l2' ? [...at(G), ...op.load, ...at(W), ...op.load, ...op.get(X), ...op.mul, ...op.add] : [...at(G), ...op.load];
  const weight = decay === 'decoupled' ? [...at(W), ...op.load, ...op.get(X), ...op.mul] : [...at(W), ...op.load];
  const body = [
    ...splats,
    ...op.block,
    ...op.loop,
    ...op.get(I), ...op.get(BYTES), ...op.i32GeU, ...op.brIf(1),
    ...grad, ...op.set(GV),
    ...at(M), ...at(M), ...op.load, ...op.get(B1), ...op.mul, ...op.get(GV), ...op.get(C1), ...op.mul, ...op.add, ...op.tee(M2), ...op.store,
    ...at(V), ...at(V), ...op.load, ...op.get(B2), ...op.mul, ...op.get(GV), ...op.get(GV), ...op.mul, ...op.get(C2), ...op.mul, ...op.add, ...op.tee(V2), ...op.store,
    ...at(W),
    ...op.get(M2), ...op.get(OMA1), ...op.div,
    ...op.get(V2), ...op.get(OMA2), ...op.div, ...op.sqrt, ...op.get(EPS), ...op.add,
    ...op.div, ...op.get(MLR), ...op.mul,
    ...weight, ...op.add,
    ...op.store,
    ...op.get(I), ...op.i32Const(16), ...op.i32Add, ...op.set(I),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
  return { name, params: [I32, I32, I32, I32, I32, ...Array<number>(SCALARS).fill(F32)], locals: [I32, ...Array<number>(SCALARS + 3).fill(V128)], body };
}

const DECAYS: Decay[] = ['none', 'l2', 'decoupled'];

// TypeScript's ES lib (no DOM) does not declare WebAssembly; Node and browsers have it.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface Wasm {
  validate(bytes: Uint8Array): boolean;
  Memory: new (d: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly?: Wasm }).WebAssembly;

type KernelFn = (w: number, g: number, m: number, v: number, bytes: number, ...scalars: number[]) => void;

const pad4 = (n: number): number => Math.ceil(n / 4) * 4;

let enabled = true;

/** Whether heavy steps run Adam in this kernel (the default) or in the step graph: tests compare the two. */
export function useAdamKernel(on: boolean): void {
  enabled = on;
}

/**
 * Adam's update over arrays in one WebAssembly memory, in place (w, m, v), one fused pass of
 * 128-bit SIMD instead of the step graph's fourteen full-size nodes (≈13 ms for ResNet-18's 11 M
 * weights on one core, bench/RESULTS.md). The arrays are views onnxruntime reads the weights from
 * and writes the gradients into, so nothing is copied on the way. Each array's padding stays zero
 * (a zero gradient on a zero weight and zero moments updates to zero), so the kernel runs whole
 * vectors of four.
 */
export class AdamKernel {
  private constructor(
    private readonly fns: Record<Decay, KernelFn>,
    /** Per variable, in the order of `sizes`. */
    readonly arrays: AdamArrays[],
  ) {}

  /** Arrays for variables of these sizes, or null where WebAssembly SIMD or that much memory is missing. */
  static create(sizes: readonly number[]): AdamKernel | null {
    if (!enabled) return null;
    const bytes = wasmModule(DECAYS.map((d) => adamFunction(d, d)));
    if (!wasmApi?.validate(bytes)) return null;
    const floats = sizes.reduce((a, n) => a + 4 * pad4(n), 0);
    let memory: WasmMemory;
    try {
      memory = new wasmApi.Memory({ initial: Math.max(1, Math.ceil((floats * 4) / 65536)) });
    } catch {
      return null;
    }
    const instance = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } });
    const fns = Object.fromEntries(DECAYS.map((d) => [d, instance.exports[d] as KernelFn])) as Record<Decay, KernelFn>;
    let at = 0;
    const next = (n: number): Float32Array => {
      const view = new Float32Array(memory.buffer, at * 4, n);
      at += pad4(n);
      return view;
    };
    return new AdamKernel(fns, sizes.map((n) => ({ w: next(n), g: next(n), m: next(n), v: next(n) })));
  }

  /** Variable i's w, m and v updated in place from its g. */
  update(i: number, s: AdamScalars, decay: Decay): void {
    const a = this.arrays[i]!;
    const lr = Math.fround(s.rate);
    // The graph's scalars: −lr exactly, and decoupled decay's factor 1 − lr·wd in float32 (Mul, then Sub).
    const x = decay === 'l2' ? s.weightDecay : decay === 'decoupled' ? Math.fround(1 - Math.fround(lr * Math.fround(s.weightDecay))) : 0;
    this.fns[decay](a.w.byteOffset, a.g.byteOffset, a.m.byteOffset, a.v.byteOffset, pad4(a.w.length) * 4, s.beta1, 1 - s.beta1, s.beta2, 1 - s.beta2, s.oma1, s.oma2, s.epsilon, -lr, x);
  }
}
