import { describe, expect, it } from 'vitest';
import { encodeOnnxModel, FLOAT, type OnnxGraph, type OnnxInitializer } from '../../src/engine/onnx/model-proto.js';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnx/runtime.js';
import { NCHWC_DOMAIN, nchwcBlock, nchwcConvs } from '../../src/train/onnx/nchwc.js';
import { Rng } from '../../src/engine/rng.js';

const ort = await loadOnnxRuntime();
const block = typeof ort === 'string' ? 0 : await nchwcBlock(ort);
const reason = typeof ort === 'string' ? `onnxruntime-node is not available (${ort})` : block === 0 ? `this onnxruntime has no channel-blocked (NCHWc) kernels on ${process.arch}` : undefined;
if (reason) console.log(`skipping the blocked-convolution tests: ${reason}`);

function values(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.next() - 0.5);
}
const f32 = (name: string, dims: number[]): OnnxInitializer => ({ name, dims, data: values(dims.reduce((a, b) => a * b, 1), name.length * 31 + dims[0]!) });

/**
 * Convolutions the blocked kernels take — channels padded up to whole blocks (24 → 8, with a bias,
 * strided), an exact fit (16 → 32, 1×1), a depthwise one (16 channels) and an RGB-like stem (3
 * channels, read unblocked; 20 filters, padded), strided — and four they do not: 18 input channels
 * (not in 4s), 8 (fewer than a block, more than RGB), a grouped non-depthwise Conv, and a weight
 * above BLOCKED_WEIGHT_FLOATS.
 */
function sample(): OnnxGraph {
  return {
    inputs: [],
    outputs: ['padded', 'exact', 'depthwise', 'stem', 'odd', 'eight', 'grouped', 'large'].map((name) => ({ name, type: FLOAT })),
    initializers: [
      f32('x24', [2, 24, 7, 7]),
      f32('w_padded', [8, 24, 3, 3]),
      f32('b_padded', [8]),
      f32('x16', [2, 16, 6, 6]),
      f32('w_exact', [32, 16, 1, 1]),
      f32('w_depthwise', [16, 1, 3, 3]),
      f32('x3', [2, 3, 7, 7]),
      f32('w_stem', [20, 3, 3, 3]),
      f32('x18', [2, 18, 5, 5]),
      f32('w_odd', [16, 18, 3, 3]),
      f32('x8', [2, 8, 5, 5]),
      f32('w_eight', [16, 8, 1, 1]),
      f32('w_grouped', [16, 8, 3, 3]),
      f32('x512', [1, 512, 2, 2]),
      f32('w_large', [520, 512, 1, 1]),
    ],
    nodes: [
      { op: 'Conv', inputs: ['x24', 'w_padded', 'b_padded'], outputs: ['padded'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } },
      { op: 'Conv', inputs: ['x16', 'w_exact'], outputs: ['exact'], attrs: { kernel_shape: [1, 1] } },
      { op: 'Conv', inputs: ['x16', 'w_depthwise'], outputs: ['depthwise'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 16 } },
      { op: 'Conv', inputs: ['x3', 'w_stem'], outputs: ['stem'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } },
      { op: 'Conv', inputs: ['x18', 'w_odd'], outputs: ['odd'], attrs: { kernel_shape: [3, 3] } },
      { op: 'Conv', inputs: ['x8', 'w_eight'], outputs: ['eight'], attrs: { kernel_shape: [1, 1] } },
      { op: 'Conv', inputs: ['x16', 'w_grouped'], outputs: ['grouped'], attrs: { kernel_shape: [3, 3], group: 2 } },
      { op: 'Conv', inputs: ['x512', 'w_large'], outputs: ['large'], attrs: { kernel_shape: [1, 1] } },
    ],
  };
}

async function outputs(graph: OnnxGraph): Promise<Record<string, Float32Array>> {
  const rt = ort as OrtModule;
  const bytes = encodeOnnxModel({ irVersion: 8, producerName: 'test', opsets: [{ domain: '', version: 17 }, { domain: NCHWC_DOMAIN, version: 1 }], graphName: 'g', graph });
  const session = await rt.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const out = await session.run({});
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

describe.skipIf(reason !== undefined)('convolutions on onnxruntime’s channel-blocked kernels (nchwc.ts)', () => {
  it('finds the block size of this CPU’s kernels', () => {
    expect([8, 16]).toContain(block);
  });

  it('rewrites the Convs the blocked kernels take, and they compute the same outputs', async () => {
    const { graph, rewritten } = nchwcConvs(sample(), block, 17);
    expect(rewritten).toBe(4);
    expect(graph.nodes.filter((n) => n.op === 'Conv' && !n.domain).map((n) => n.outputs[0])).toEqual(['odd', 'eight', 'grouped', 'large']);
    // The stem's input goes in unblocked.
    expect(graph.nodes.find((n) => n.op === 'Conv' && n.domain === NCHWC_DOMAIN && n.inputs[0] === 'x3')).toBeDefined();
    const before = await outputs(sample());
    const after = await outputs(graph);
    for (const k of Object.keys(before)) {
      expect(after[k]!.length, k).toBe(before[k]!.length);
      const worst = Math.max(...before[k]!.map((v, i) => Math.abs(v - after[k]![i]!)));
      expect(worst, k).toBeLessThan(1e-5);
    }
  });

});
