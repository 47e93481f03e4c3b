import { describe, expect, it } from 'vitest';
import { encodeOnnxModel, FLOAT, type OnnxGraph, type OnnxNode } from '../../src/engine/onnx/model-proto.js';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnx/runtime.js';
import { channelsFirst, channelsFirstInput } from '../../src/train/onnx/input-layout.js';
import { Rng } from '../../src/engine/rng.js';

const ort = await loadOnnxRuntime();
const reason = typeof ort === 'string' ? `onnxruntime-node is not available (${ort})` : undefined;
if (reason) console.log(`skipping the input-layout test that runs a graph: ${reason}`);

const toNchw = (input: string, output: string, perm = [0, 3, 1, 2]): OnnxNode => ({ op: 'Transpose', inputs: [input], outputs: [output], attrs: { perm } });

/** x [N, 5, 4, 3] → Transpose → Conv 3 → 2 (1×1) → y; `extra` nodes added after. */
function graph(extra: OnnxNode[] = [], perm?: number[]): OnnxGraph {
  return {
    nodes: [toNchw('x', 'xt', perm), { op: 'Conv', inputs: ['xt', 'w'], outputs: ['y'] }, ...extra],
    inputs: [{ name: 'x', type: FLOAT, shape: ['n', 5, 4, 3] }],
    outputs: [{ name: 'y', type: FLOAT }],
    initializers: [{ name: 'w', dims: [2, 3, 1, 1], data: Float32Array.of(1, -2, 0.5, 0.25, 3, -1) }],
  };
}

describe('channelsFirstInput: the step graph takes the images channels first', () => {
  it('drops the Transpose to [N, C, H, W] and declares the input so', () => {
    const g = channelsFirstInput(graph(), 'x')!;
    expect(g.inputs[0]).toEqual({ name: 'x', type: FLOAT, shape: ['n', 3, 5, 4] });
    expect(g.nodes.map((n) => n.op)).toEqual(['Conv']);
    expect(g.nodes[0]!.inputs).toEqual(['x', 'w']);
  });

  it('leaves a graph alone where the input has another use, another transpose, or the transposed input is an output', () => {
    expect(channelsFirstInput(graph([{ op: 'ReduceMean', inputs: ['x'], outputs: ['m'] }]), 'x')).toBeUndefined();
    expect(channelsFirstInput(graph([], [0, 2, 3, 1]), 'x')).toBeUndefined();
    expect(channelsFirstInput({ ...graph(), outputs: [{ name: 'y' }, { name: 'xt' }] }, 'x')).toBeUndefined();
    expect(channelsFirstInput({ ...graph(), inputs: [{ name: 'x', shape: ['n', 20, 3] }] }, 'x')).toBeUndefined();
  });

  it.skipIf(reason !== undefined)('computes what the graph with the Transpose computes, fed the batch written channels first', async () => {
    const o = ort as OrtModule;
    const run = async (g: OnnxGraph, x: Float32Array, dims: number[]): Promise<Float32Array> => {
      const s = await o.InferenceSession.create(encodeOnnxModel({ irVersion: 8, producerName: 'test', opsets: [{ domain: '', version: 17 }], graphName: 'g', graph: g }));
      try {
        return (await s.run({ x: new o.Tensor('float32', x, dims) })).y!.data as Float32Array;
      } finally {
        void s.release();
      }
    };
    const rng = new Rng(4);
    const x = Float32Array.from({ length: 2 * 5 * 4 * 3 }, () => rng.next() - 0.5);
    const nchw = new Float32Array(x.length);
    channelsFirst(x, nchw, 2, 20, 3);
    expect([...(await run(channelsFirstInput(graph(), 'x')!, nchw, [2, 3, 5, 4]))]).toEqual([...(await run(graph(), x, [2, 5, 4, 3]))]);
  });
});

describe('channelsFirst: a channels-last batch copied channels first', () => {
  it.each([1, 3, 4])('%i channels', (c) => {
    const m = 3;
    const pixels = 7;
    const from = Float32Array.from({ length: m * pixels * c }, (_, i) => i);
    const into = new Float32Array(from.length).fill(Number.NaN);
    channelsFirst(from, into, m, pixels, c);
    for (let s = 0; s < m; s++) {
      for (let k = 0; k < c; k++) {
        for (let p = 0; p < pixels; p++) expect(into[(s * c + k) * pixels + p], `sample ${s}, channel ${k}, pixel ${p}`).toBe(from[(s * pixels + p) * c + k]);
      }
    }
  });
});
