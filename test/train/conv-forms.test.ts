import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnx/runtime.js';
import { GraphStepper } from '../../src/train/onnx/graph-stepper.js';
import { NCHWC_DOMAIN, nchwcBlock } from '../../src/train/onnx/nchwc.js';
import { inlineStepSessions, type OpenStepSession } from '../../src/train/onnx/step-session.js';
import { resolveOptimizer } from '../../src/train/optimizer.js';
import { Rng } from '../../src/engine/rng.js';
import { useBackend, weightValues } from '../helpers.js';

const ort = await loadOnnxRuntime();
const block = typeof ort === 'string' ? 0 : await nchwcBlock(ort);
const reason = typeof ort === 'string' ? `onnxruntime-node is not available (${ort})` : block === 0 ? `this onnxruntime has no channel-blocked (NCHWc) kernels on ${process.arch}` : undefined;
if (reason) console.log(`skipping the convolution-forms training test: ${reason}`);

/**
 * Input 4×4×4 → Conv 16 (4 channels: stays plain) → depthwise 3×3 → Conv 1×1 to 24 → Conv 1×1 to
 * 256 → Conv 3×3 256 → 256 (590k floats: one GEMM) → Conv 3×3 to 8 (output channels padded) →
 * BatchNorm → Dense 3.
 */
function model(): tfl.LayersModel {
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
  const input = tfl.input({ shape: [4, 4, 4] });
  let h = tfl.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) }).apply(input) as tfl.SymbolicTensor;
  h = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: init(2) }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 24, kernelSize: 1, activation: 'relu', kernelInitializer: init(3) }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 256, kernelSize: 1, activation: 'relu', kernelInitializer: init(4) }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 256, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(5) }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', kernelInitializer: init(6) }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.batchNormalization({}).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.flatten().apply(tfl.layers.activation({ activation: 'relu' }).apply(h)) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(7) }).apply(h) as tfl.SymbolicTensor });
}

/**
 * Four SGD steps of model(); `open` decides where (and whether) the rewritten step graph runs. Not
 * Adam: it turns rounding-level differences in a near-zero gradient into whole steps of ±rate.
 */
async function train(open: OpenStepSession): Promise<{ weights: Float32Array[]; forms: { gemm: number; blocked: number; batchedWeightGradients: number }; loss: number }> {
  const net = model();
  const stepper = new GraphStepper(ort as OrtModule, net, { activation: 'softmax', units: 3, classes: 3 }, resolveOptimizer({ name: 'sgd', learningRate: 0.1 }), undefined, undefined, 0, true, open);
  await stepper.refresh();
  stepper.beginEpoch(0, 0);
  const rng = new Rng(3);
  for (let b = 0; b < 4; b++) {
    const labels = Float32Array.from({ length: 8 }, (_, i) => (i + b) % 3);
    await stepper.step(Float32Array.from({ length: 8 * 64 }, () => rng.next() - 0.5), labels, 8);
  }
  await stepper.flush();
  const loss = stepper.sums().loss;
  const forms = (stepper as unknown as { current: { convForms: { gemm: number; blocked: number; batchedWeightGradients: number } } }).current.convForms;
  stepper.syncModel();
  stepper.dispose();
  const weights = [...weightValues(net).values()];
  net.dispose();
  return { weights, forms, loss };
}

describe.skipIf(reason !== undefined)('GraphStepper runs heavy steps’ convolutions as GEMMs and on blocked kernels (conv-gemm.ts, nchwc.ts)', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('trains as the plain step graph does, and falls back to it when the rewritten one is refused', async () => {
    const inline = inlineStepSessions(ort as OrtModule);
    const rewritten = await train(inline);
    // A session that refuses graphs with blocked kernels: the stepper opens the plain one instead.
    const refusing: OpenStepSession = (bytes, options, light) => (Buffer.from(bytes).includes(NCHWC_DOMAIN) ? Promise.reject(new Error('no NCHWc here')) : inline(bytes, options, light));
    const plain = await train(refusing);
    // GEMM: the 256 → 256 Conv and its stride-1 input gradient (a Conv with the flipped 256 → 256 kernel).
    // Blocked, forward: depthwise, 1×1 to 24, 1×1 to 256, 3×3 to 8. Backward input gradients: the
    // depthwise one, the 1×1s' (from 24 and from 256 channels). The 4-channel stem and the 3×3 to
    // 8's input gradient (8 channels) stay plain.
    expect(rewritten.forms).toEqual({ gemm: 2, blocked: 7, batchedWeightGradients: 0 });
    expect(plain.forms).toEqual({ gemm: 0, blocked: 0, batchedWeightGradients: 0 });
    expect(Math.abs(rewritten.loss - plain.loss) / plain.loss).toBeLessThan(1e-5);
    let worst = 0;
    rewritten.weights.forEach((w, i) => w.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - plain.weights[i]![j]!)))));
    expect(worst).toBeLessThan(1e-4);
    // Training moved every convolution's weights well past that tolerance.
    const start = [...weightValues(model()).values()];
    for (const i of [0, 2, 4, 6, 8, 10]) expect(start[i]!.reduce((m, v, j) => Math.max(m, Math.abs(v - plain.weights[i]![j]!)), 0), `weight ${i}`).toBeGreaterThan(1e-3);
  });
});
