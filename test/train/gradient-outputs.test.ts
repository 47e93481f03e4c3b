import { describe, expect, it } from 'vitest';
import { encodeOnnxModel, FLOAT, type OnnxGraph, type OnnxInitializer } from '../../src/engine/onnx/model-proto.js';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnx/runtime.js';
import { directGradientOutputs } from '../../src/train/onnx/gradient-outputs.js';

const ort = await loadOnnxRuntime();
if (typeof ort === 'string') console.log(`skipping the run of the gradient-outputs graph: onnxruntime-node is not available (${ort})`);

const ints = (name: string, values: number[]): OnnxInitializer => ({ name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });

/** grad.w = Reshape(Reshape(MatMul(a [n, 6], b [6, 8]), [2, 16]), [32]), as a weight gradient ends; `alsoOut` also outputs the MatMul. */
function graph(alsoOut = false, batch: number | string = 4): OnnxGraph {
  return {
    inputs: [
      { name: 'a', type: FLOAT, shape: [batch, 6] },
      { name: 'b', type: FLOAT, shape: [6, 8] },
    ],
    outputs: [{ name: 'grad.w', type: FLOAT, shape: [32] }, ...(alsoOut ? [{ name: 'm', type: FLOAT }] : [])],
    initializers: [ints('s1', [2, 16]), ints('s2', [32])],
    nodes: [
      { op: 'MatMul', inputs: ['a', 'b'], outputs: ['m'] },
      { op: 'Reshape', inputs: ['m', 's1'], outputs: ['r1'] },
      { op: 'Reshape', inputs: ['r1', 's2'], outputs: ['grad.w'] },
    ],
  };
}
const want = new Map([['grad.w', [32]]]);

describe('gradient outputs written by their producer (gradient-outputs.ts)', () => {
  it('drops the Reshapes after the product and gives the fetch its shape', () => {
    const { graph: g, shapes } = directGradientOutputs(graph(), want);
    expect(g.nodes.map((n) => n.op)).toEqual(['MatMul']);
    expect(g.nodes[0]!.outputs).toEqual(['grad.w']);
    expect(shapes.get('grad.w')).toEqual([4, 8]);
    expect(g.outputs[0]!.shape).toEqual([4, 8]);
  });

  it('sizes a sum over a symbolic batch (ones [1, n] · per-sample products), and refuses a shape that follows the batch', () => {
    const summed: OnnxGraph = {
      inputs: [
        { name: 'a', type: FLOAT, shape: ['n', 6] },
        { name: 'b', type: FLOAT, shape: [6, 8] },
      ],
      outputs: [{ name: 'grad.w', type: FLOAT, shape: [8] }],
      initializers: [ints('zero', [0]), ints('one', [1]), ints('eight', [8]), { name: 'unit', dims: [], data: Float32Array.of(1) }],
      nodes: [
        { op: 'MatMul', inputs: ['a', 'b'], outputs: ['per'] },
        { op: 'Shape', inputs: ['per'], outputs: ['shape'] },
        { op: 'Slice', inputs: ['shape', 'zero', 'one'], outputs: ['n'] },
        { op: 'Concat', inputs: ['one', 'n'], outputs: ['onesShape'], attrs: { axis: 0 } },
        { op: 'Expand', inputs: ['unit', 'onesShape'], outputs: ['ones'] },
        { op: 'MatMul', inputs: ['ones', 'per'], outputs: ['sum'] },
        { op: 'Reshape', inputs: ['sum', 'eight'], outputs: ['grad.w'] },
      ],
    };
    expect(directGradientOutputs(summed, new Map([['grad.w', [8]]])).shapes.get('grad.w')).toEqual([1, 8]);
    // MatMul(a [n, 6], b) is [n, 8]: 32 floats only at n = 4.
    expect(directGradientOutputs(graph(false, 'n'), want).shapes.size).toBe(0);
  });

  it('keeps a Reshape whose input is read elsewhere (the output is then that Reshape’s), and all where the size is not the weight’s', () => {
    const shared = directGradientOutputs(graph(true), want);
    expect(shared.shapes.get('grad.w')).toEqual([2, 16]);
    expect(shared.graph.nodes.map((n) => `${n.op}→${n.outputs[0]}`)).toEqual(['MatMul→m', 'Reshape→grad.w']);
    expect(directGradientOutputs(graph(), new Map([['grad.w', [30]]])).shapes.size).toBe(0);
  });

  it.skipIf(typeof ort === 'string')('onnxruntime writes the same values into a caller’s buffer of that shape', async () => {
    const rt = ort as OrtModule;
    const run = async (g: OnnxGraph, dims: number[]): Promise<Float32Array> => {
      const session = await rt.InferenceSession.create(encodeOnnxModel({ irVersion: 8, producerName: 'test', opsets: [{ domain: '', version: 17 }], graphName: 'g', graph: g }), { logSeverityLevel: 3 });
      const into = new Float32Array(32);
      const a = new rt.Tensor('float32', Float32Array.from({ length: 24 }, (_, i) => i / 7 - 1), [4, 6]);
      const b = new rt.Tensor('float32', Float32Array.from({ length: 48 }, (_, i) => (i % 5) - 2.5), [6, 8]);
      await session.run({ a, b }, { 'grad.w': new rt.Tensor('float32', into, dims) });
      await session.release();
      return into;
    };
    const direct = directGradientOutputs(graph(), want);
    const [plain, written] = [await run(graph(), [32]), await run(direct.graph, direct.shapes.get('grad.w')!)];
    expect(plain.some((v) => Math.abs(v) > 1)).toBe(true);
    expect(written).toEqual(plain);
  });
});
