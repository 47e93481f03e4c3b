import { describe, expect, it } from 'vitest';
import type * as Ort from 'onnxruntime-node';
import { encodeModel, FLOAT, type OnnxGraph } from '../../../src/engine/onnx/model-proto.js';
import { buildGradientGraph } from '../../../src/train/graph/autodiff.js';
import { sigmoidCrossEntropy, softmaxCrossEntropy } from '../../../src/train/graph/loss.js';
import { scoreLogits } from '../../../src/train/onnx/batch-math.js';
import { expectGradients, missing, one, ort } from './gradcheck.js';

/**
 * graft's two classifier losses, built by loss.ts and differentiated by the autodiff: the loss
 * equals graft's own scoring (batch-math.ts's scoreLogits, what the chain engine reports) and the
 * gradient with respect to the logits is the closed form the chain engine uses, (p − y)/N.
 */
async function lossAndGradient(graph: OnnxGraph, logits: Float32Array, dims: number[], labels: Ort.Tensor): Promise<{ loss: number; grad: Float32Array }> {
  const o = ort as typeof Ort;
  const built = buildGradientGraph(graph, { loss: 'loss', trainable: ['logits'] });
  const session = await o.InferenceSession.create(encodeModel(built.graph), { logSeverityLevel: 3 });
  const out = await session.run({ logits: new o.Tensor('float32', logits, dims), labels });
  return { loss: Number(out.loss!.data[0]), grad: out['grad.logits']!.data as Float32Array };
}

const holder = (dims: number[], data: Float32Array): OnnxGraph => ({ nodes: [], inputs: [], outputs: [{ name: 'logits', type: FLOAT, shape: dims }], initializers: [{ name: 'logits', dims, data }] });

describe.skipIf(missing)('classifier losses', () => {
  it('softmax cross-entropy: graft\'s loss, and (softmax − onehot)/N', async () => {
    const o = ort as typeof Ort;
    const [n, k] = [4, 3];
    const z = Float32Array.from([0.2, -1, 2.5, 3, 0.1, -0.4, -2, -2, 1, 0.7, 0.7, 0.7]);
    const labels = [2, 0, 1, 1];
    const r = await lossAndGradient(softmaxCrossEntropy(holder([n, k], z), 'logits'), z, [n, k], new o.Tensor('int64', BigInt64Array.from(labels.map(BigInt)), [n]));
    expect(r.loss).toBeCloseTo(scoreLogits(z, Float32Array.from(labels), n, k).loss / n, 6);
    for (let i = 0; i < n; i++) {
      const row = Array.from(z.slice(i * k, i * k + k));
      const max = Math.max(...row);
      const total = row.reduce((s, v) => s + Math.exp(v - max), 0);
      row.forEach((v, c) => expect(r.grad[i * k + c]!, `sample ${i} class ${c}`).toBeCloseTo((Math.exp(v - max) / total - (c === labels[i] ? 1 : 0)) / n, 6));
    }
  });

  it('sigmoid cross-entropy (one unit): graft\'s loss, (σ(z) − y)/N, no overflow at large |z|', async () => {
    const o = ort as typeof Ort;
    const z = Float32Array.from([0.3, -2, 40, -60, 0]);
    const y = Float32Array.from([1, 0, 0, 0, 1]);
    const n = z.length;
    const r = await lossAndGradient(sigmoidCrossEntropy(holder([n, 1], z), 'logits'), z, [n, 1], new o.Tensor('float32', y, [n, 1]));
    expect(r.loss).toBeCloseTo(scoreLogits(z, y, n, 1).loss / n, 5);
    z.forEach((v, i) => expect(r.grad[i]!, `sample ${i}`).toBeCloseTo((1 / (1 + Math.exp(-v)) - y[i]!) / n, 6));
  });

  it('the ops it is built from: Abs, Log, Softplus (float64 finite differences)', async () => {
    await expectGradients('Abs', one('Abs', { x: { dims: [2, 5] } }), 1e-4, 'float64');
    await expectGradients('Log', one('Log', { x: { dims: [2, 5], lo: 0.3, hi: 3 } }), 1e-4, 'float64');
    // No float64 Softplus in onnxruntime: float32 differences, h = 1e-2.
    await expectGradients('Softplus', { ...one('Softplus', { x: { dims: [2, 5], lo: -4, hi: 4 } }), floatStep: 1e-2 }, 1e-3, 'float32');
  });
});
