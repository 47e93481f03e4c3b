import { describe, expect, it } from 'vitest';
import { encodeOnnxModel, FLOAT, type OnnxGraph, type OnnxInitializer, type OnnxNode } from '../../src/engine/onnx/model-proto.js';
import { loadOnnxRuntime, type OrtModule } from '../../src/engine/onnx/runtime.js';
import { Rng } from '../../src/engine/rng.js';
import { GEMM_WEIGHT_FLOATS } from '../../src/train/onnx/im2col.js';
import { gemmConvs } from '../../src/train/onnx/conv-gemm.js';
import { buildGradientGraph } from '../../src/train/graph/autodiff.js';

const ort = await loadOnnxRuntime();
if (typeof ort === 'string') console.log(`skipping the convolution-as-GEMM tests: onnxruntime-node is not available (${ort})`);

const size = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);
function tensor(name: string, dims: number[], seed: number): OnnxInitializer {
  const rng = new Rng(seed);
  return { name, dims, data: Float32Array.from({ length: size(dims) }, () => rng.next() - 0.5) };
}

/** One Conv reading x [N, C, H, W] and weight w, with attributes; y its output. */
interface Case {
  x: number[];
  w: number[];
  attrs: OnnxNode['attrs'];
  bias?: boolean;
}

const CASES: Record<string, Case> = {
  'stride 1, pads 1, bias': { x: [2, 256, 3, 3], w: [256, 256, 3, 3], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, bias: true },
  'stride 2, uneven pads (0, 0, 1, 1)': { x: [2, 256, 5, 5], w: [288, 256, 3, 3], attrs: { kernel_shape: [3, 3], pads: [0, 0, 1, 1], strides: [2, 2] } },
  'dilation 2, pads 2, 3×2 kernel': { x: [1, 320, 3, 4], w: [300, 320, 3, 2], attrs: { kernel_shape: [3, 2], pads: [2, 1, 2, 1], dilations: [2, 2] } },
  'auto_pad VALID, stride (2, 1)': { x: [1, 256, 5, 4], w: [260, 256, 3, 3], attrs: { kernel_shape: [3, 3], auto_pad: { string: 'VALID' }, strides: [2, 1] } },
};

function convGraph(c: Case): OnnxGraph {
  return {
    inputs: [],
    outputs: [{ name: 'y', type: FLOAT }],
    initializers: [tensor('x', c.x, 1), tensor('w', c.w, 2), ...(c.bias ? [tensor('b', [c.w[0]!], 3)] : [])],
    nodes: [{ op: 'Conv', inputs: ['x', 'w', ...(c.bias ? ['b'] : [])], outputs: ['y'], attrs: c.attrs }],
  };
}

async function run(graph: OnnxGraph, opset = 17, inputs: OnnxInitializer[] = []): Promise<Record<string, Float32Array>> {
  const rt = ort as OrtModule;
  const session = await rt.InferenceSession.create(encodeOnnxModel({ irVersion: 8, producerName: 'test', opsets: [{ domain: '', version: opset }], graphName: 'g', graph }), { logSeverityLevel: 3 });
  const out = await session.run(Object.fromEntries(inputs.map((p) => [p.name, new rt.Tensor('float32', p.data as Float32Array, p.dims)])));
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

const worstDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe.skipIf(typeof ort === 'string')('large-weight convolutions on few positions as im2col + one GEMM (conv-gemm.ts, im2col.ts)', () => {
  it.each(Object.entries(CASES))('%s: the same output as onnxruntime’s Conv', async (_, c) => {
    expect(size(c.w)).toBeGreaterThan(GEMM_WEIGHT_FLOATS);
    const { graph, rewritten } = gemmConvs(convGraph(c), 17);
    expect(rewritten).toBe(1);
    expect(graph.nodes.some((n) => n.op === 'Conv')).toBe(false);
    const [plain, gemm] = [await run(convGraph(c)), await run(graph)];
    expect(gemm.y!.length).toBe(plain.y!.length);
    expect(worstDiff(gemm.y!, plain.y!)).toBeLessThan(1e-4);
  });

  it('writes Unsqueeze for opsets before 13 (axes an attribute)', async () => {
    const c = CASES['stride 1, pads 1, bias']!;
    const { graph } = gemmConvs(convGraph(c), 11);
    expect(graph.nodes.filter((n) => n.op === 'Unsqueeze').every((n) => n.inputs.length === 1 && Array.isArray(n.attrs?.axes))).toBe(true);
    expect(worstDiff((await run(graph, 11)).y!, (await run(convGraph(c))).y!)).toBeLessThan(1e-4);
  });

  it('leaves alone small, grouped, 1-D and many-position convolutions, and inputs of unknown size', () => {
    const g: OnnxGraph = {
      inputs: [{ name: 'unsized', type: FLOAT, shape: ['n', 256, 'h', 'w'] }],
      outputs: ['small', 'grouped', 'line', 'wide', 'unknown'].map((name) => ({ name, type: FLOAT })),
      initializers: [tensor('x', [1, 256, 4, 4], 1), tensor('w_small', [64, 256, 3, 3], 2), tensor('w_grouped', [512, 128, 3, 3], 3), tensor('x1', [1, 256, 8], 4), tensor('w_line', [512, 256, 5], 5), tensor('x5', [1, 256, 5, 5], 6), tensor('w', [256, 256, 3, 3], 7)],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w_small'], outputs: ['small'], attrs: { kernel_shape: [3, 3] } },
        { op: 'Conv', inputs: ['x', 'w_grouped'], outputs: ['grouped'], attrs: { kernel_shape: [3, 3], group: 2 } },
        { op: 'Conv', inputs: ['x1', 'w_line'], outputs: ['line'], attrs: { kernel_shape: [5] } },
        // 5×5 = 25 output positions per image: onnxruntime's own Conv is faster there.
        { op: 'Conv', inputs: ['x5', 'w'], outputs: ['wide'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: 'Conv', inputs: ['unsized', 'w'], outputs: ['unknown'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      ],
    };
    expect(gemmConvs(g, 17).rewritten).toBe(0);
    // The same 256 → 256 Conv on 4×4 (16 positions) is rewritten.
    g.nodes.push({ op: 'Conv', inputs: ['x', 'w'], outputs: ['narrow'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } });
    expect(gemmConvs(g, 17).rewritten).toBe(1);
  });

  /** An input gradient as ops/conv.ts writes it: ConvTranspose(dY, W), or at stride 1 Conv(dY, flip(Transpose(W))). */
  const gradCases: Record<string, { dy: number[]; w: number[]; attrs: OnnxNode['attrs']; flipped?: boolean; swapOnly?: boolean }> = {
    'ConvTranspose, stride 2, begin pads 1 (ResNet’s 256 → 512)': { dy: [2, 288, 2, 2], w: [288, 256, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 0, 0] } },
    'ConvTranspose, stride (2, 3), dilation 2, 3×2 kernel, end pads': { dy: [1, 300, 3, 2], w: [300, 320, 3, 2], attrs: { strides: [2, 3], dilations: [2, 2], pads: [2, 0, 1, 1] } },
    'flipped Conv, pads 1 (stride 1, 3×3)': { dy: [2, 256, 4, 4], w: [256, 256, 3, 3], attrs: { pads: [1, 1, 1, 1] }, flipped: true },
    'flipped Conv, dilation 2, uneven pads': { dy: [1, 256, 3, 4], w: [256, 300, 3, 3], attrs: { pads: [4, 1, 2, 3], dilations: [2, 2] }, flipped: true },
    '1×1: Conv with the transposed kernel, no flip': { dy: [2, 1024, 2, 2], w: [1024, 600, 1, 1], attrs: {}, swapOnly: true },
  };
  function gradGraph(c: (typeof gradCases)[string]): OnnxGraph {
    const ints = (name: string, values: number[]): OnnxInitializer => ({ name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
    const nodes: OnnxNode[] = c.swapOnly
      ? [
          { op: 'Transpose', inputs: ['w'], outputs: ['wt'], attrs: { perm: [1, 0, 2, 3] } },
          { op: 'Conv', inputs: ['dy', 'wt'], outputs: ['dx'], attrs: c.attrs },
        ]
      : c.flipped
      ? [
          { op: 'Transpose', inputs: ['w'], outputs: ['wt'], attrs: { perm: [1, 0, 2, 3] } },
          { op: 'Slice', inputs: ['wt', 'minus', 'far', 'axes', 'minus'], outputs: ['wf'] },
          { op: 'Conv', inputs: ['dy', 'wf'], outputs: ['dx'], attrs: c.attrs },
        ]
      : [{ op: 'ConvTranspose', inputs: ['dy', 'w'], outputs: ['dx'], attrs: c.attrs }];
    return { inputs: [], outputs: [{ name: 'dx', type: FLOAT }], initializers: [tensor('dy', c.dy, 11), tensor('w', c.w, 12), ints('minus', [-1, -1]), ints('far', [-(2 ** 52), -(2 ** 52)]), ints('axes', [2, 3])], nodes };
  }

  it.each(Object.entries(gradCases))('input gradient, %s: one Gemm + col2im, the same output', async (_, c) => {
    const { graph, rewritten } = gemmConvs(gradGraph(c), 17);
    expect(rewritten).toBe(1);
    // Nothing transposes, flips or convolves the weight any more.
    expect(graph.nodes.some((n) => n.op === 'Conv' || n.op === 'ConvTranspose')).toBe(false);
    expect(graph.nodes.some((n) => n.inputs.includes('w') && n.op !== 'Reshape')).toBe(false);
    const [plain, gemm] = [await run(gradGraph(c)), await run(graph)];
    expect(gemm.dx!.length).toBe(plain.dx!.length);
    expect(worstDiff(gemm.dx!, plain.dx!)).toBeLessThan(1e-4);
    expect(worstDiff(plain.dx!, new Float32Array(plain.dx!.length))).toBeGreaterThan(0.1);
  });

  /** loss = Σ r·Conv(x, w) at 3×3, pads 1, differentiated for w: dW in im2col form (ops/conv-weight.ts: a one-hot Conv, its output transposed, one Gemm). */
  function weightGradient(x: number[], w: number[]): ReturnType<typeof buildGradientGraph> {
    const forward: OnnxGraph = {
      inputs: [],
      outputs: [{ name: 'loss', type: FLOAT }],
      initializers: [tensor('x', x, 1), tensor('w', w, 2), tensor('r', [x[0]!, w[0]!, x[2]!, x[3]!], 3)],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: 'Mul', inputs: ['y', 'r'], outputs: ['yr'] },
        { op: 'ReduceSum', inputs: ['yr'], outputs: ['loss'], attrs: { keepdims: 0 } },
      ],
    };
    return buildGradientGraph(forward, { loss: 'loss', trainable: ['w'], gradientName: (p) => `grad.${p}`, opset: 17 });
  }
  const isOneHot = (g: OnnxGraph, n: OnnxNode): boolean => n.op === 'Conv' && g.initializers.some((t) => t.name === n.inputs[1] && t.dims[1] === 1);
  const transposedIm2col = (g: OnnxGraph): boolean => g.nodes.some((n) => n.op === 'Transpose' && g.nodes.some((c) => isOneHot(g, c) && c.outputs[0] === n.inputs[0] && intsOf(n).join() === '1,0,2,3'));
  const intsOf = (n: OnnxNode): number[] => (n.attrs?.perm as number[] | undefined) ?? [];

  it('a small Conv’s weight gradient at many positions per image is a product per sample summed over the batch, the same dW', async () => {
    // 16 → 8 channels at 6×6: 36 positions per image.
    const { graph: plain, params } = weightGradient([3, 16, 6, 6], [8, 16, 3, 3]);
    expect(transposedIm2col(plain)).toBe(true);
    const { graph, rewritten, batched } = gemmConvs(plain, 17);
    expect([rewritten, batched]).toEqual([0, 1]);
    // The one-hot im2col stays; nothing transposes it, and no Gemm is left.
    expect(graph.nodes.some((n) => isOneHot(graph, n))).toBe(true);
    expect(transposedIm2col(graph)).toBe(false);
    expect(graph.nodes.some((n) => n.op === 'Gemm')).toBe(false);
    const [want, got] = [(await run(plain, 17, params))['grad.w']!, (await run(graph, 17, params))['grad.w']!];
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(scale).toBeGreaterThan(1);
    expect(got.length).toBe(want.length);
    expect(worstDiff(got, want) / scale).toBeLessThan(1e-5);
  });

  it('at 16 positions per image or fewer the weight gradient keeps its one Gemm', () => {
    const { graph: plain } = weightGradient([3, 16, 4, 4], [8, 16, 3, 3]);
    const { graph, batched } = gemmConvs(plain, 17);
    expect(batched).toBe(0);
    expect(transposedIm2col(graph)).toBe(true);
    expect(graph.nodes.filter((n) => n.op === 'Gemm')).toHaveLength(1);
  });

  it('a rewritten Conv’s weight gradient reuses its forward im2col rows (no one-hot Conv), with the same dW and dX', async () => {
    // loss = Σ r·Conv(x, w): the autodiff writes dW in im2col form (ops/conv-weight.ts) and dX at stride 1 as a flipped Conv.
    const forward: OnnxGraph = {
      inputs: [],
      outputs: [{ name: 'loss', type: FLOAT }],
      initializers: [tensor('x', [2, 256, 4, 4], 1), tensor('w', [256, 256, 3, 3], 2), tensor('r', [2, 256, 4, 4], 3)],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: 'Mul', inputs: ['y', 'r'], outputs: ['yr'] },
        { op: 'ReduceSum', inputs: ['yr'], outputs: ['loss'], attrs: { keepdims: 0 } },
      ],
    };
    const { graph: plain, params } = buildGradientGraph(forward, { loss: 'loss', trainable: ['w', 'x'], gradientName: (p) => `grad.${p}`, opset: 17 });
    const oneHot = (g: OnnxGraph): number => g.nodes.filter((n) => n.op === 'Conv' && g.initializers.some((t) => t.name === n.inputs[1] && t.dims[1] === 1)).length;
    expect(oneHot(plain)).toBe(1);
    const { graph, rewritten } = gemmConvs(plain, 17);
    // The forward Conv and the input gradient; dW's Gemm now reads the forward's rows.
    expect(rewritten).toBe(2);
    expect(oneHot(graph)).toBe(0);
    expect(graph.nodes.some((n) => n.op === 'Conv' || n.op === 'ConvTranspose')).toBe(false);
    const [want, got] = [await run(plain, 17, params), await run(graph, 17, params)];
    for (const name of ['grad.w', 'grad.x']) {
      const scale = want[name]!.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(scale, name).toBeGreaterThan(1);
      expect(worstDiff(got[name]!, want[name]!) / scale, name).toBeLessThan(1e-5);
    }
  });
});

