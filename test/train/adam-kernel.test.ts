import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/engine/onnx/graph-builder.js';
import { encodeOnnxModel } from '../../src/engine/onnx/model-proto.js';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnx/runtime.js';
import { AdamKernel, type Decay } from '../../src/train/onnx/adam-kernel.js';
import { ADAM, update } from '../../src/train/onnx/optimizer-graph.js';
import { resolveOptimizer, type ResolvedOptimizer } from '../../src/train/optimizer.js';
import { Rng } from '../../src/engine/rng.js';

const ort = await loadOnnxRuntime();
const reason = typeof ort === 'string' ? `onnxruntime-node is not available (${ort})` : AdamKernel.create([4]) === null ? 'this JavaScript engine has no WebAssembly SIMD' : undefined;
if (reason) console.log(`skipping the Adam kernel tests: ${reason}`);

/** The step graph's update of one variable (optimizer-graph.ts), alone in a session. */
async function graphUpdate(o: ResolvedOptimizer, n: number) {
  const g = new GraphBuilder();
  g.input('w', [n]);
  g.input('grad', [n]);
  update(g, 'w', [n], 'grad', 'lr_0', o, 0);
  const bytes = encodeOnnxModel({ irVersion: 8, producerName: 'test', opsets: [{ domain: '', version: 17 }], graphName: 'adam', graph: g.graph });
  const session = await (ort as OrtModule).InferenceSession.create(bytes);
  return async (w: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, lr: number, oma1: number, oma2: number) => {
    const t = (a: Float32Array | number[]) => new (ort as OrtModule).Tensor('float32', Float32Array.from(a), Array.isArray(a) ? [] : [a.length]);
    const out = await session.run({ w: t(w), grad: t(grad), m_w: t(m), v_w: t(v), lr_0: t([lr]), oma1_0: t([oma1]), oma2_0: t([oma2]) });
    return { w: out['new_w']!.data as Float32Array, m: out['new_m_w']!.data as Float32Array, v: out['new_v_w']!.data as Float32Array };
  };
}

const cases: Array<[string, ResolvedOptimizer, Decay]> = [
  ['adam', resolveOptimizer({ name: 'adam', learningRate: 0.003 }), 'none'],
  ['adam with L2 decay', resolveOptimizer({ name: 'adam', learningRate: 0.003, weightDecay: 0.01 }), 'l2'],
  ['adamw (decoupled decay)', resolveOptimizer({ name: 'adamw', learningRate: 0.003, weightDecay: 0.05 }), 'decoupled'],
];

describe.skipIf(reason !== undefined)('AdamKernel: Adam as one WebAssembly SIMD pass', () => {
  it.each(cases)('%s: five steps equal onnxruntime running the step graph’s update nodes, bit for bit', async (_, o, decay) => {
    // Sizes not divisible by 4: the kernel's padding must stay out of the results.
    const sizes = [1001, 3, 16];
    const kernel = AdamKernel.create(sizes)!;
    const rng = new Rng(7);
    for (const [i, n] of sizes.entries()) {
      const run = await graphUpdate(o, n);
      const a = kernel.arrays[i]!;
      a.w.set(Float32Array.from({ length: n }, () => rng.next() * 2 - 1));
      let ref: { w: Float32Array; m: Float32Array; v: Float32Array } = { w: a.w.slice(), m: new Float32Array(n), v: new Float32Array(n) };
      let beta = [Math.fround(ADAM.beta1), Math.fround(ADAM.beta2)];
      for (let step = 0; step < 5; step++) {
        // Gradients from tiny to large, zeros among them, as real ones are.
        a.g.set(Float32Array.from({ length: n }, (_, j) => (j % 7 === 0 ? 0 : (rng.next() - 0.5) * 10 ** (-6 + (j % 7)))));
        const oma1 = Math.fround(1 - beta[0]!);
        const oma2 = Math.fround(1 - beta[1]!);
        const rate = 0.003 * (1 - step / 10);
        ref = await run(ref.w, a.g, ref.m, ref.v, rate, oma1, oma2);
        kernel.update(i, { ...ADAM, oma1, oma2, rate, epsilon: o.epsilon, weightDecay: o.weightDecay }, decay);
        beta = [Math.fround(beta[0]! * Math.fround(ADAM.beta1)), Math.fround(beta[1]! * Math.fround(ADAM.beta2))];
        expect(Array.from(a.m), `m, step ${step}`).toEqual(Array.from(ref.m));
        expect(Array.from(a.v), `v, step ${step}`).toEqual(Array.from(ref.v));
        expect(Array.from(a.w), `w, step ${step}`).toEqual(Array.from(ref.w));
      }
    }
    // The padding after each array stayed zero.
    for (const a of kernel.arrays) {
      for (const x of [a.w, a.m, a.v]) {
        const padded = new Float32Array(x.buffer, x.byteOffset, Math.ceil(x.length / 4) * 4);
        expect(Array.from(padded.subarray(x.length)).every((y) => y === 0)).toBe(true);
      }
    }
  });

  it('lays out each variable’s four arrays 16-byte aligned, without overlap', () => {
    const kernel = AdamKernel.create([5, 8, 1])!;
    const spans = kernel.arrays.flatMap((a) => [a.w, a.g, a.m, a.v]).map((x) => [x.byteOffset, x.byteOffset + Math.ceil(x.length / 4) * 16] as const);
    for (const [i, [start, end]] of spans.entries()) {
      expect(start % 16).toBe(0);
      if (i > 0) expect(start).toBeGreaterThanOrEqual(spans[i - 1]![1]);
      expect(end).toBeLessThanOrEqual(kernel.arrays[0]!.w.buffer.byteLength);
    }
  });
});
