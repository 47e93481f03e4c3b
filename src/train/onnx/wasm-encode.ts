/**
 * Just enough of WebAssembly's binary format to write a module of exported functions over one
 * imported memory (`env.memory`), so graft can run a small SIMD kernel without a build step or a
 * shipped .wasm file. Instruction bytes come from the `op` table below; bodies are plain byte arrays.
 */

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (i32 constants). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

// TypeScript's ES lib (no DOM) does not declare WebAssembly; Node and browsers have it.
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface Wasm {
  validate(bytes: Uint8Array): boolean;
  Memory: new (d: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
/** The engine's WebAssembly, or undefined where it has none. */
export const wasmApi = (globalThis as unknown as { WebAssembly?: Wasm }).WebAssembly;

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

const simd = (code: number): number[] => [0xfd, ...uleb(code)];
/** 16-byte aligned, no offset. */
const memarg128 = [4, 0];
/** Any alignment, no offset. */
const unaligned = [0, 0];

/** The instructions the kernels use. */
export const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32Const: (n: number) => [0x41, ...sleb(n)],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32GeU: [0x4f],
  i32GeS: [0x4e],
  i32GtS: [0x4a],
  i32LtS: [0x48],
  i32Load: [0x28, 2, 0],
  f32Load: [0x2a, 2, 0],
  f32Store: [0x38, 2, 0],
  f32Add: [0x92],
  f32Mul: [0x94],
  f32Zero: [0x43, 0, 0, 0, 0],
  i32Eq: [0x46],
  if: [0x04, 0x40],
  else: [0x05],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  end: [0x0b],
  load: [...simd(0x00), ...memarg128],
  store: [...simd(0x0b), ...memarg128],
  loadUnaligned: [...simd(0x00), ...unaligned],
  /** v128.load at a constant byte offset from the address, any alignment. */
  loadUnalignedAt: (offset: number) => [...simd(0x00), 0, ...uleb(offset)],
  /** Lanes 0, 2 of the first vector and 0, 2 of the second: every other float of eight. */
  evenLanes: [...simd(0x0d), 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27],
  lane: (i: number) => [...simd(0x1f), i],
  splat: simd(0x13),
  sqrt: simd(0xe3),
  add: simd(0xe4),
  sub: simd(0xe5),
  mul: simd(0xe6),
  div: simd(0xe7),
} as const;

/**
 * `for (ctr = from; ctr < to; ctr += step) body`, counting in i32 (signed): `from`, `to` and
 * `step` are code that leaves one i32. The body is its own block, so its branches nest freely.
 */
export function forLoop(ctr: number, from: number[], to: number[], body: number[], step: number[] = op.i32Const(1)): number[] {
  return [
    ...from, ...op.set(ctr),
    ...op.block, ...op.loop,
    ...op.get(ctr), ...to, ...op.i32GeS, ...op.brIf(1),
    ...body,
    ...op.get(ctr), ...step, ...op.i32Add, ...op.set(ctr),
    ...op.br(0),
    ...op.end, ...op.end,
  ];
}

export interface WasmFunction {
  name: string;
  params: number[];
  /** Extra locals after the parameters, by type. */
  locals: number[];
  body: number[];
}

const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const text = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

/** A module importing `env.memory` (at least `pages` 64 KiB pages) and exporting `functions`. */
export function wasmModule(functions: readonly WasmFunction[], pages = 1): Uint8Array {
  const types = functions.map((f) => [0x60, ...vector(f.params.map((p) => [p])), 0]);
  const imports = vector([[...text('env'), ...text('memory'), 0x02, 0x00, ...uleb(pages)]]);
  const bodies = functions.map((f) => {
    // Locals run-length encoded: one entry per local is valid and simplest.
    const code = [...vector(f.locals.map((t) => [1, t])), ...f.body, ...op.end];
    return [...uleb(code.length), ...code];
  });
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...section(2, imports),
    ...section(3, vector(functions.map((_, i) => uleb(i)))),
    ...section(7, vector(functions.map((f, i) => [...text(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vector(bodies)),
  ]);
}
