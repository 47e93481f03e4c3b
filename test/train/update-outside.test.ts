import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnx/runtime.js';
import { GraphStepper } from '../../src/train/onnx/graph-stepper.js';
import { UpdateKernel, useUpdateKernel } from '../../src/train/onnx/update-kernel.js';
import { inlineStepSessions } from '../../src/train/onnx/step-session.js';
import { resolveOptimizer, type OptimizerSpec } from '../../src/train/optimizer.js';
import type { OptimizerState } from '../../src/train/checkpoint.js';
import { Rng } from '../../src/engine/rng.js';
import { useBackend, weightValues } from '../helpers.js';

const ort = await loadOnnxRuntime();
const reason = typeof ort === 'string' ? `onnxruntime-node is not available (${ort})` : UpdateKernel.create('sgd', [4]) === null ? 'this JavaScript engine has no WebAssembly SIMD' : undefined;
if (reason) console.log(`skipping the update-outside-the-graph tests: ${reason}`);

/** Conv 3×3 (a heavy step: convolutions) → BatchNorm → Conv 1×1 → Dense 3, on 6×6×3 images. */
function model(): tfl.LayersModel {
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
  const input = tfl.input({ shape: [6, 6, 3] });
  let h = tfl.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: init(1), name: 'c1' }).apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.batchNormalization({ name: 'bn' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 5, kernelSize: 1, activation: 'relu', kernelInitializer: init(2), name: 'c2' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.flatten().apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(3), name: 'head' }).apply(h) as tfl.SymbolicTensor });
}

/**
 * Head only for 3 steps, then every layer for 3, the optimizer state saved and restored (a resume's
 * path), a new epoch, 3 more, then the head alone again for 2: the two trainability patterns compile
 * two sessions, and the state moves between them.
 */
async function train(spec: OptimizerSpec, kernel: boolean): Promise<{ weights: Float32Array[]; state: OptimizerState[]; outside: boolean[]; direct: string[][] }> {
  useUpdateKernel(kernel);
  const net = model();
  const stepper = new GraphStepper(ort as OrtModule, net, { activation: 'softmax', units: 3, classes: 3 }, resolveOptimizer(spec), undefined, undefined, 0, true, inlineStepSessions(ort as OrtModule));
  const outside: boolean[] = [];
  // Per phase, the gradients the session writes without a Reshape (gradient-outputs.ts).
  const direct: string[][] = [];
  const rng = new Rng(5);
  const steps = async (n: number): Promise<void> => {
    stepper.beginEpoch(0, 0);
    const current = (stepper as unknown as { current: { outside?: { gradientShapes?: Map<string, number[]> } } }).current;
    outside.push(current.outside !== undefined);
    direct.push([...(current.outside?.gradientShapes?.keys() ?? [])]);
    for (let b = 0; b < n; b++) {
      const labels = Float32Array.from({ length: 6 }, (_, i) => (i + b) % 3);
      await stepper.step(Float32Array.from({ length: 6 * 108 }, () => rng.next() - 0.5), labels, 6);
    }
    await stepper.flush();
    stepper.syncModel();
  };
  for (const l of net.layers) l.trainable = l.name === 'head';
  await stepper.refresh();
  await steps(3);
  for (const l of net.layers) l.trainable = true;
  await stepper.refresh();
  await steps(3);
  const saved = await stepper.saveState();
  await stepper.restoreState(saved);
  await steps(3);
  // Back to the head alone: its session's kernel was let go and is made again.
  for (const l of net.layers) l.trainable = l.name === 'head';
  await stepper.refresh();
  await steps(2);
  const state = await stepper.saveState();
  stepper.dispose();
  const weights = [...weightValues(net).values()];
  net.dispose();
  return { weights, state, outside, direct };
}

describe.skipIf(reason !== undefined)('GraphStepper: heavy steps update outside the graph (update-kernel.ts)', () => {
  beforeAll(async () => {
    await useBackend();
  });
  afterEach(() => useUpdateKernel(true));

  it.each<[string, OptimizerSpec]>([
    ['adam', { name: 'adam', learningRate: 0.01 }],
    ['adam + L2', { name: 'adam', learningRate: 0.01, weightDecay: 0.01 }],
    ['adamw', { name: 'adamw', learningRate: 0.01, weightDecay: 0.1 }],
    ['sgd', { name: 'sgd', learningRate: 0.05 }],
    ['sgd + momentum + L2', { name: 'sgd', learningRate: 0.05, momentum: 0.9, weightDecay: 0.001 }],
    ['rmsprop', { name: 'rmsprop', learningRate: 0.003 }],
  ])('%s: the same weights and optimizer state, bit for bit, as the update in the graph', async (_, spec) => {
    const fused = await train(spec, true);
    const inGraph = await train(spec, false);
    expect(fused.outside).toEqual([true, true, true, true]);
    expect(inGraph.outside).toEqual([false, false, false, false]);
    // The head's bias gradient (a ReduceSum, then a Reshape to [3]) is written in place; the Keras
    // kernels' end in a Transpose to HWIO, which writes there itself.
    // (TF.js numbers the layer names of each new model: head/bias_3.)
    expect(fused.direct.map((names) => names.map((n) => n.replace(/_\d+$/, '')))).toEqual([['grad.head/bias'], ['grad.head/bias'], ['grad.head/bias'], ['grad.head/bias']]);
    expect(fused.weights.length).toBe(inGraph.weights.length);
    fused.weights.forEach((w, i) => expect(Array.from(w), `weight ${i}`).toEqual(Array.from(inGraph.weights[i]!)));
    expect(fused.state.map((s) => [s.layer, s.iterations, s.accBeta, s.slots.length])).toEqual(inGraph.state.map((s) => [s.layer, s.iterations, s.accBeta, s.slots.length]));
    fused.state.forEach((s, i) => s.slots.forEach((slot, j) => expect(Array.from(slot), `${s.layer} slot ${j}`).toEqual(Array.from(inGraph.state[i]!.slots[j]!))));
    // The head trained all 11 steps, the convolutions 6.
    expect(fused.state.find((s) => s.layer === 'head')!.iterations).toBe(11);
    expect(fused.state.find((s) => s.layer === 'c1')!.iterations).toBe(6);
    // And the weights did move: every trained kernel differs from its initial value.
    const start = [...weightValues(model()).values()];
    for (const i of [0, 6, 8]) expect(start[i]!.some((v, j) => v !== fused.weights[i]![j])).toBe(true);
  });

  it('says so, naming the memory and the fix, when the kernel cannot be made again after a switch; the weights stay as they were', async () => {
    const net = model();
    const stepper = new GraphStepper(ort as OrtModule, net, { activation: 'softmax', units: 3, classes: 3 }, resolveOptimizer({ name: 'adam', learningRate: 0.01 }), undefined, undefined, 0, true, inlineStepSessions(ort as OrtModule));
    const rng = new Rng(9);
    const step = () => stepper.step(Float32Array.from({ length: 6 * 108 }, () => rng.next() - 0.5), Float32Array.from({ length: 6 }, (_, i) => i % 3), 6);
    for (const l of net.layers) l.trainable = l.name === 'head';
    await stepper.refresh();
    stepper.beginEpoch(0, 0);
    await step();
    await stepper.flush();
    for (const l of net.layers) l.trainable = true;
    await stepper.refresh();
    stepper.beginEpoch(0, 0);
    await step();
    await stepper.flush();
    stepper.syncModel();
    // By name: model.weights lists trainable weights first, so its order follows the flags.
    const byName = (): Record<string, number[]> => Object.fromEntries([...weightValues(net)].map(([name, w]) => [name, Array.from(w)]));
    const before = byName();
    // Back to the head alone: its kernel was let go, and now no memory can be had for it.
    for (const l of net.layers) l.trainable = l.name === 'head';
    await stepper.refresh();
    useUpdateKernel(false);
    stepper.beginEpoch(0, 0);
    const error = await step().then(() => stepper.flush()).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(String((error as Error).message)).toMatch(/could not allocate \d+ MB of WebAssembly memory for .*--engine tfjs/);
    stepper.syncModel();
    expect(byName()).toEqual(before);
    stepper.dispose();
    net.dispose();
  });
});

