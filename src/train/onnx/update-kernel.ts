import { F32, I32, op, V128, wasmApi, wasmModule, type WasmFunction, type WasmMemory } from './wasm-encode.js';

/** How weight decay enters: none, L2 on the gradient, or decoupled on the weight (adamw). */
export type Decay = 'none' | 'l2' | 'decoupled';

/** The update rules of TF.js's optimizers that optimizer-graph.ts writes. */
export type UpdateRule = 'sgd' | 'momentum' | 'adam' | 'rmsprop';

/** Optimizer slots per rule, in slotKinds() order: momentum's acc; Adam's m, v; RMSprop's ms, mom. */
const SLOTS: Record<UpdateRule, number> = { sgd: 0, momentum: 1, adam: 2, rmsprop: 2 };

/** One variable's arrays in the kernel's memory: weight, gradient and its slots, each padded to whole 16 bytes with zeros. */
export interface UpdateArrays {
  w: Float32Array;
  g: Float32Array;
  slots: Float32Array[];
}

/** Scalars of one update, as the step graph holds them (optimizer-graph.ts); the kernel rounds each to float32. */
export interface UpdateScalars {
  /** The layer's rate this step. */
  rate: number;
  /** The weight-decay factor (0: none). */
  weightDecay: number;
  epsilon: number;
  momentum: number;
  rho: number;
  beta1: number;
  beta2: number;
  /** Adam's 1 − β1^t and 1 − β2^t, as fed to the graph (oma1, oma2). */
  oma1: number;
  oma2: number;
}

// Parameters: w, g, slot 1, slot 2, bytes (i32), then the scalars (f32); locals: i, their v128 splats, three temporaries.
const [W, G, S1, S2, BYTES] = [0, 1, 2, 3, 4];
const SCALARS = 13; // β1, 1 − β1, β2, 1 − β2, oma1, oma2, ε, −lr, x (wd or 1 − lr·wd), lr, momentum, ρ, 1 − ρ
const I = 5 + SCALARS;
const splat = (k: number): number => I + 1 + k;
const [B1, C1, B2, C2, OMA1, OMA2, EPS, MLR, X, LR, MU, RHO, CRHO] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map(splat) as [number, number, number, number, number, number, number, number, number, number, number, number, number];
const [GV, T1, T2] = [I + 1 + SCALARS, I + 2 + SCALARS, I + 3 + SCALARS];

const at = (base: number): number[] => [...op.get(base), ...op.get(I), ...op.i32Add];
const load = (base: number): number[] => [...at(base), ...op.load];
const get = (...locals: number[]): number[] => locals.flatMap((l) => op.get(l));

/**
 * One rule's update, op for op as optimizer-graph.ts writes it, so float32 rounding matches the
 * graph's nodes (s1, s2 are the slots), four floats at a time; L2 decay makes g + w·wd first,
 * decoupled decay makes the weight term w·(1 − lr·wd):
 *  - sgd: w' = g·(−lr) + w
 *  - momentum: s1' = s1·μ + g; w' = s1'·(−lr) + w
 *  - adam: s1' = s1·β1 + g·(1 − β1); s2' = s2·β2 + (g·g)·(1 − β2); w' = (s1'/oma1) / (√(s2'/oma2) + ε)·(−lr) + w
 *  - rmsprop: s1' = s1·ρ + (g·g)·(1 − ρ); s2' = s2·μ + (g·lr) / √(s1' + ε); w' = w − s2'
 */
function updateFunction(rule: UpdateRule, decay: Decay): WasmFunction {
  const splats = Array.from({ length: SCALARS }, (_, k) => [...op.get(5 + k), ...op.splat, ...op.set(splat(k))]).flat();
  const grad = decay === 'l2' ? [...load(G), ...load(W), ...get(X), ...op.mul, ...op.add] : load(G);
  const weight = decay === 'decoupled' ? [...load(W), ...get(X), ...op.mul] : load(W);
  const steps: Record<UpdateRule, number[]> = {
    sgd: [...at(W), ...get(GV, MLR), ...op.mul, ...weight, ...op.add, ...op.store],
    momentum: [
      ...at(S1), ...load(S1), ...get(MU), ...op.mul, ...get(GV), ...op.add, ...op.tee(T1), ...op.store,
      ...at(W), ...get(T1, MLR), ...op.mul, ...weight, ...op.add, ...op.store,
    ],
    adam: [
      ...at(S1), ...load(S1), ...get(B1), ...op.mul, ...get(GV, C1), ...op.mul, ...op.add, ...op.tee(T1), ...op.store,
      ...at(S2), ...load(S2), ...get(B2), ...op.mul, ...get(GV, GV), ...op.mul, ...get(C2), ...op.mul, ...op.add, ...op.tee(T2), ...op.store,
      ...at(W), ...get(T1, OMA1), ...op.div, ...get(T2, OMA2), ...op.div, ...op.sqrt, ...get(EPS), ...op.add, ...op.div, ...get(MLR), ...op.mul, ...weight, ...op.add, ...op.store,
    ],
    rmsprop: [
      ...at(S1), ...load(S1), ...get(RHO), ...op.mul, ...get(GV, GV), ...op.mul, ...get(CRHO), ...op.mul, ...op.add, ...op.tee(T1), ...op.store,
      ...at(S2), ...load(S2), ...get(MU), ...op.mul, ...get(GV, LR), ...op.mul, ...get(T1, EPS), ...op.add, ...op.sqrt, ...op.div, ...op.add, ...op.tee(T2), ...op.store,
      ...at(W), ...weight, ...get(T2), ...op.sub, ...op.store,
    ],
  };
  const body = [
    ...splats,
    ...op.block,
    ...op.loop,
    ...get(I, BYTES), ...op.i32GeU, ...op.brIf(1),
    ...grad, ...op.set(GV),
    ...steps[rule],
    ...op.get(I), ...op.i32Const(16), ...op.i32Add, ...op.set(I),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
  return { name: `${rule}_${decay}`, params: [I32, I32, I32, I32, I32, ...Array<number>(SCALARS).fill(F32)], locals: [I32, ...Array<number>(SCALARS + 3).fill(V128)], body };
}

const RULES: UpdateRule[] = ['sgd', 'momentum', 'adam', 'rmsprop'];
const DECAYS: Decay[] = ['none', 'l2', 'decoupled'];

type KernelFn = (w: number, g: number, s1: number, s2: number, bytes: number, ...scalars: number[]) => void;

const pad4 = (n: number): number => Math.ceil(n / 4) * 4;

let enabled = true;
let compiled: { module: object } | null | undefined;

/** Whether heavy steps update in this kernel (the default) or in the step graph: tests compare the two. */
export function useUpdateKernel(on: boolean): void {
  enabled = on;
}

/**
 * The optimizer's update over arrays in one WebAssembly memory, in place (weights and slots), one
 * fused pass of 128-bit SIMD instead of the step graph's full-size nodes (Adam: fourteen, ≈13 ms
 * for ResNet-18's 11 M weights on one core, bench/RESULTS.md). The arrays are views onnxruntime
 * reads the weights from and writes the gradients into, so nothing is copied on the way. Each
 * array's padding stays zero (a zero gradient on a zero weight and zero slots updates to zero), so
 * the kernel runs whole vectors of four. The memory never grows, so the views stay valid.
 */
export class UpdateKernel {
  private constructor(
    private readonly fns: Record<string, KernelFn>,
    readonly rule: UpdateRule,
    /** Per variable, in the order of `sizes`. */
    readonly arrays: UpdateArrays[],
  ) {}

  /** Arrays for variables of these sizes, or null where WebAssembly SIMD or that much memory is missing. */
  static create(rule: UpdateRule, sizes: readonly number[]): UpdateKernel | null {
    if (!enabled || !wasmApi) return null;
    if (compiled === undefined) {
      const bytes = wasmModule(RULES.flatMap((r) => DECAYS.map((d) => updateFunction(r, d))));
      compiled = wasmApi.validate(bytes) ? { module: new wasmApi.Module(bytes) } : null;
    }
    if (!compiled) return null;
    const slots = SLOTS[rule];
    const floats = sizes.reduce((a, n) => a + (2 + slots) * pad4(n), 0);
    let memory: WasmMemory;
    try {
      memory = new wasmApi.Memory({ initial: Math.max(1, Math.ceil((floats * 4) / 65536)) });
    } catch {
      return null;
    }
    const instance = new wasmApi.Instance(compiled.module, { env: { memory } });
    const fns = instance.exports as Record<string, KernelFn>;
    let at = 0;
    const next = (n: number): Float32Array => {
      const view = new Float32Array(memory.buffer, at * 4, n);
      at += pad4(n);
      return view;
    };
    return new UpdateKernel(fns, rule, sizes.map((n) => ({ w: next(n), g: next(n), slots: Array.from({ length: slots }, () => next(n)) })));
  }

  /** Variable i's weight and slots updated in place from its gradient. */
  update(i: number, s: UpdateScalars, decay: Decay): void {
    const a = this.arrays[i]!;
    const lr = Math.fround(s.rate);
    // The graph's scalars: −lr exactly, and decoupled decay's factor 1 − lr·wd in float32 (Mul, then Sub).
    const x = decay === 'l2' ? s.weightDecay : decay === 'decoupled' ? Math.fround(1 - Math.fround(lr * Math.fround(s.weightDecay))) : 0;
    const [s1, s2] = [a.slots[0]?.byteOffset ?? 0, a.slots[1]?.byteOffset ?? 0];
    this.fns[`${this.rule}_${decay}`]!(a.w.byteOffset, a.g.byteOffset, s1, s2, pad4(a.w.length) * 4, s.beta1, 1 - s.beta1, s.beta2, 1 - s.beta2, s.oma1, s.oma2, s.epsilon, -lr, x, lr, s.momentum, s.rho, 1 - s.rho);
  }
}
