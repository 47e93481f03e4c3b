import { forLoop, I32, op, wasmApi, wasmModule } from './wasm-encode.js';
import type { WeightView } from './weight-views.js';

// gather(index, out, n): out[j] = the float at byte address index[j], for j < n.
const [INDEX, OUT, N, J] = [0, 1, 2, 3];
const at = (base: number): number[] => [...op.get(base), ...op.get(J), ...op.i32Const(4), ...op.i32Mul, ...op.i32Add];
const GATHER = wasmModule([{ name: 'gather', params: [I32, I32, I32], locals: [I32], body: forLoop(J, op.i32Const(0), op.get(N), [...at(OUT), ...at(INDEX), ...op.i32Load, ...op.f32Load, ...op.f32Store]) }]);

const PAGE = 2 ** 16;

/**
 * The weight views' gathers in WebAssembly (about 1 ns a float against 3–4 for the same loop in
 * JavaScript, bench/RESULTS.md): one memory holds a zero at address 0, a copy of each source
 * weight, every view's index as byte addresses into those copies (0 for a zero), and the views,
 * which onnxruntime reads in place. `fill` copies the weights in and gathers every view in one call.
 */
export class ViewKernel {
  /** Each view's values, in the kernel's memory. */
  readonly views: Float32Array[];
  private constructor(
    private readonly gather: (index: number, out: number, n: number) => void,
    private readonly sources: Array<{ name: string; data: Float32Array }>,
    private readonly index: number,
    private readonly out: number,
    private readonly n: number,
    views: Float32Array[],
  ) {
    this.views = views;
  }

  /** A kernel for `views`, whose sources have `sizes` floats; undefined without WebAssembly or memory. */
  static create(views: readonly WeightView[], sizes: ReadonlyMap<string, number>): ViewKernel | undefined {
    if (!wasmApi) return undefined;
    const names = [...new Set(views.map((v) => v.source))];
    const n = views.reduce((a, v) => a + v.index.length, 0);
    const sourceFloats = names.reduce((a, s) => a + sizes.get(s)!, 0);
    const bytes = 16 + 4 * (sourceFloats + 2 * n);
    try {
      const memory = new wasmApi.Memory({ initial: Math.ceil(bytes / PAGE) });
      const gather = new wasmApi.Instance(new wasmApi.Module(GATHER), { env: { memory } }).exports.gather as (index: number, out: number, n: number) => void;
      let offset = 16;
      const base = new Map<string, number>();
      const sources = names.map((name) => {
        base.set(name, offset);
        const data = new Float32Array(memory.buffer, offset, sizes.get(name)!);
        offset += 4 * data.length;
        return { name, data };
      });
      const index = offset;
      const table = new Int32Array(memory.buffer, index, n);
      let j = 0;
      for (const v of views) {
        const b = base.get(v.source)!;
        for (const k of v.index) table[j++] = k < 0 ? 0 : b + 4 * k;
      }
      const out = index + 4 * n;
      let o = out;
      const arrays = views.map((v) => {
        const a = new Float32Array(memory.buffer, o, v.index.length);
        o += 4 * v.index.length;
        return a;
      });
      return new ViewKernel(gather, sources, index, out, n, arrays);
    } catch {
      return undefined;
    }
  }

  /** Copies each source weight in (`read` gives its current values) and gathers every view. */
  fill(read: (name: string) => Float32Array): void {
    for (const s of this.sources) s.data.set(read(s.name));
    this.gather(this.index, this.out, this.n);
  }
}
