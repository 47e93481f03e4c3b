import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/engine/onnx/graph-builder.js';
import { encodeOnnxModel } from '../../src/engine/onnx/model-proto.js';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnx/runtime.js';
import { UpdateKernel, type Decay, type UpdateRule } from '../../src/train/onnx/update-kernel.js';
import { ADAM, slotKinds, update } from '../../src/train/onnx/optimizer-graph.js';
import { resolveOptimizer, type OptimizerSpec, type ResolvedOptimizer } from '../../src/train/optimizer.js';
import { Rng } from '../../src/engine/rng.js';

const ort = await loadOnnxRuntime();
const reason = typeof ort === 'string' ? `onnxruntime-node is not available (${ort})` : UpdateKernel.create('sgd', [4]) === null ? 'this JavaScript engine has no WebAssembly SIMD' : undefined;
if (reason) console.log(`skipping the update kernel tests: ${reason}`);

/** The step graph's update of one variable (optimizer-graph.ts), alone in a session: new weight and slots. */
async function graphUpdate(o: ResolvedOptimizer, n: number) {
  const g = new GraphBuilder();
  g.input('w', [n]);
  g.input('grad', [n]);
  update(g, 'w', [n], 'grad', 'lr_0', o, 0);
  const bytes = encodeOnnxModel({ irVersion: 8, producerName: 'test', opsets: [{ domain: '', version: 17 }], graphName: 'update', graph: g.graph });
  const session = await (ort as OrtModule).InferenceSession.create(bytes);
  const inputs = new Set(g.graph.inputs.map((i) => i.name));
  const kinds = slotKinds(o);
  return async (w: Float32Array, grad: Float32Array, slots: Float32Array[], lr: number, oma1: number, oma2: number) => {
    const t = (a: Float32Array | number[]) => new (ort as OrtModule).Tensor('float32', Float32Array.from(a), Array.isArray(a) ? [] : [a.length]);
    const feeds: Record<string, ReturnType<typeof t>> = { w: t(w), grad: t(grad), lr_0: t([lr]), oma1_0: t([oma1]), oma2_0: t([oma2]) };
    kinds.forEach((k, i) => (feeds[`${k}_w`] = t(slots[i]!)));
    const out = await session.run(Object.fromEntries(Object.entries(feeds).filter(([name]) => inputs.has(name))));
    return { w: out['new_w']!.data as Float32Array, slots: kinds.map((k) => out[`new_${k}_w`]!.data as Float32Array) };
  };
}

const cases: Array<[string, OptimizerSpec, UpdateRule, Decay]> = [
  ['sgd', { name: 'sgd', learningRate: 0.05 }, 'sgd', 'none'],
  ['sgd with L2 decay', { name: 'sgd', learningRate: 0.05, weightDecay: 0.01 }, 'sgd', 'l2'],
  ['sgd with momentum', { name: 'sgd', learningRate: 0.05, momentum: 0.9 }, 'momentum', 'none'],
  ['sgd with momentum and L2 decay', { name: 'sgd', learningRate: 0.05, momentum: 0.9, weightDecay: 0.001 }, 'momentum', 'l2'],
  ['adam', { name: 'adam', learningRate: 0.003 }, 'adam', 'none'],
  ['adam with L2 decay', { name: 'adam', learningRate: 0.003, weightDecay: 0.01 }, 'adam', 'l2'],
  ['adamw (decoupled decay)', { name: 'adamw', learningRate: 0.003, weightDecay: 0.05 }, 'adam', 'decoupled'],
  ['rmsprop', { name: 'rmsprop', learningRate: 0.001 }, 'rmsprop', 'none'],
  ['rmsprop with momentum and weight decay (decoupled, as graft’s rmsprop applies it)', { name: 'rmsprop', learningRate: 0.001, momentum: 0.8, rho: 0.95, weightDecay: 0.01 }, 'rmsprop', 'decoupled'],
];

describe.skipIf(reason !== undefined)('UpdateKernel: the optimizer update as one WebAssembly SIMD pass', () => {
  it.each(cases)('%s: five steps equal onnxruntime running the step graph’s update nodes, bit for bit', async (_, spec, rule, decay) => {
    const o = resolveOptimizer(spec);
    // Sizes not divisible by 4: the kernel's padding must stay out of the results.
    const sizes = [1001, 3, 16];
    const kernel = UpdateKernel.create(rule, sizes)!;
    const rng = new Rng(7);
    for (const [i, n] of sizes.entries()) {
      const run = await graphUpdate(o, n);
      const a = kernel.arrays[i]!;
      expect(a.slots.length).toBe(slotKinds(o).length);
      a.w.set(Float32Array.from({ length: n }, () => rng.next() * 2 - 1));
      let ref: { w: Float32Array; slots: Float32Array[] } = { w: a.w.slice(), slots: a.slots.map(() => new Float32Array(n)) };
      let beta = [Math.fround(ADAM.beta1), Math.fround(ADAM.beta2)];
      for (let step = 0; step < 5; step++) {
        // Gradients from tiny to large, zeros among them, as real ones are.
        a.g.set(Float32Array.from({ length: n }, (_, j) => (j % 7 === 0 ? 0 : (rng.next() - 0.5) * 10 ** (-6 + (j % 7)))));
        const oma1 = Math.fround(1 - beta[0]!);
        const oma2 = Math.fround(1 - beta[1]!);
        const rate = o.learningRate * (1 - step / 10);
        ref = await run(ref.w, a.g, ref.slots, Math.fround(rate), oma1, oma2);
        kernel.update(i, { ...ADAM, oma1, oma2, rate, epsilon: o.epsilon, weightDecay: o.weightDecay, momentum: o.momentum, rho: o.rho }, decay);
        beta = [Math.fround(beta[0]! * Math.fround(ADAM.beta1)), Math.fround(beta[1]! * Math.fround(ADAM.beta2))];
        a.slots.forEach((slot, k) => expect(Array.from(slot), `slot ${k}, step ${step}`).toEqual(Array.from(ref.slots[k]!)));
        expect(Array.from(a.w), `w, step ${step}`).toEqual(Array.from(ref.w));
      }
    }
    // The padding after each array stayed zero.
    for (const a of kernel.arrays) {
      for (const x of [a.w, ...a.slots]) {
        const padded = new Float32Array(x.buffer, x.byteOffset, Math.ceil(x.length / 4) * 4);
        expect(Array.from(padded.subarray(x.length)).every((y) => y === 0)).toBe(true);
      }
    }
  });

  it('lays out each variable’s arrays 16-byte aligned, without overlap', () => {
    const kernel = UpdateKernel.create('adam', [5, 8, 1])!;
    const spans = kernel.arrays.flatMap((a) => [a.w, a.g, ...a.slots]).map((x) => [x.byteOffset, x.byteOffset + Math.ceil(x.length / 4) * 16] as const);
    expect(spans.length).toBe(12);
    for (const [i, [start, end]] of spans.entries()) {
      expect(start % 16).toBe(0);
      if (i > 0) expect(start).toBeGreaterThanOrEqual(spans[i - 1]![1]);
      expect(end).toBeLessThanOrEqual(kernel.arrays[0]!.w.buffer.byteLength);
    }
  });
});
