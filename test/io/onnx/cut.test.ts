import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cutGraph, defaultCut } from '../../../src/io/onnx/cut.js';
import { foldConstants } from '../../../src/io/onnx/fold.js';
import { inferShapes } from '../../../src/io/onnx/shape-infer.js';
import { topoSort } from '../../../src/io/onnx/graph-checks.js';
import { isGraftError } from '../../../src/errors.js';
import type { OnnxModel } from '../../../src/engine/onnx/model-proto.js';
import { LARGE_FILES, LARGE_MISSING, SMALL_FILES, dataInput, feedFor, model, ort, runGraph } from './static-graph-fixtures.js';

/**
 * defaultCut finds the classifier's input; cutGraph's prefix, run on onnxruntime, computes exactly
 * that tensor of the full model; wrong names are refused with the closest names.
 */

/** The prefix's output equals the same tensor taken out of the whole graph, at batch 1 and 8. */
async function prefixMatches(m: OnnxModel, name: string): Promise<Array<number | 'N'>> {
  const input = dataInput(m.graph);
  const shapes = inferShapes(m.graph, { [input.name]: input.shape });
  const cut = cutGraph(m.graph, name, shapes);
  expect(cut.graph.outputs.map((v) => v.name)).toEqual([cut.output]);
  // The prefix holds nothing the tensor does not need.
  expect(cut.graph.nodes.length).toBeLessThan(m.graph.nodes.length);
  const o = await ort();
  for (const batch of [1, 8]) {
    const feeds = feedFor(o, m.graph, batch);
    const whole = await runGraph(m, { ...m.graph, outputs: [...m.graph.outputs, { name: cut.output, type: shapes.get(cut.output)!.type }] }, feeds);
    const part = await runGraph(m, cut.graph, feeds);
    const want = whole.get(cut.output)!;
    const got = part.get(cut.output)!;
    expect(got.dims).toEqual(cut.shape.map((d) => (d === 'N' ? batch : d)));
    expect(Array.from(got.data)).toEqual(Array.from(want.data));
  }
  return cut.shape;
}

/** The node that reads a tensor as its classifier input. */
function reader(m: OnnxModel, tensor: string) {
  return m.graph.nodes.filter((n) => n.inputs.includes(tensor));
}

describe('defaultCut and cutGraph', () => {
  it('fashion-mnist-a: the input of the last Gemm (fc2), [N, 64]; its prefix computes it', async () => {
    const m = await model(SMALL_FILES.find((f) => f.endsWith('fashion-mnist-a.onnx'))!);
    const cut = defaultCut(m.graph);
    const gemms = topoSort(m.graph).filter((n) => n.op === 'Gemm');
    expect(cut).toBe(gemms[gemms.length - 1]!.inputs[0]);
    expect(reader(m, cut).map((n) => n.name)).toEqual(['/fc2/Gemm']);
    expect(await prefixMatches(m, cut)).toEqual(['N', 64]);
  });

  it('every small fixture: the default cut feeds a Gemm/MatMul and its prefix equals the full model there', async () => {
    for (const file of SMALL_FILES) {
      const m = await model(file);
      const input = dataInput(m.graph);
      const folded = { ...m, graph: foldConstants(m.graph, { [input.name]: input.shape }) };
      if (!folded.graph.nodes.some((n) => n.op === 'Gemm' || n.op === 'MatMul')) {
        // A feature extractor with no classifier (tm-mobilenetv2 ends in a ReLU): nothing to cut off.
        expect(() => defaultCut(folded.graph), path.basename(file)).toThrow(/no Gemm or MatMul on the path to its output/);
        continue;
      }
      const cut = defaultCut(folded.graph);
      expect(reader(folded, cut).some((n) => n.op === 'Gemm' || n.op === 'MatMul'), path.basename(file)).toBe(true);
      await prefixMatches(folded, cut);
    }
  }, 120_000);

  it('resnet18: the [N, 512] input of the fc Gemm, in every export', async (ctx) => {
    const files = LARGE_FILES.filter((f) => path.basename(f).startsWith('resnet18'));
    if (LARGE_MISSING || files.length === 0) {
      console.log(`skipped: ${LARGE_MISSING ?? 'no resnet18 files'}`);
      ctx.skip();
    }
    for (const file of files) {
      const m = await model(file);
      const cut = defaultCut(m.graph);
      const fc = reader(m, cut);
      expect(fc.map((n) => n.op)).toEqual(['Gemm']);
      // The Gemm's weight is fc.weight, or (TorchScript) its renamed copy of [10, 512].
      const w = m.graph.initializers.find((t) => t.name === fc[0]!.inputs[1]);
      expect(w?.dims).toEqual([10, 512]);
      expect(await prefixMatches(m, cut)).toEqual(['N', 512]);
    }
  }, 300_000);

  it('a node name cuts at its first output', async () => {
    const m = await model(SMALL_FILES.find((f) => f.endsWith('fashion-mnist-a.onnx'))!);
    const input = dataInput(m.graph);
    const shapes = inferShapes(m.graph, { [input.name]: input.shape });
    const node = m.graph.nodes.find((n) => n.name === '/features/features.3/Conv')!;
    const cut = cutGraph(m.graph, '/features/features.3/Conv', shapes);
    expect(cut.output).toBe(node.outputs[0]);
    expect(cut.shape).toEqual(['N', 32, 14, 14]);
    expect(await prefixMatches(m, '/features/features.3/Conv')).toEqual(['N', 32, 14, 14]);
  });

  it('refuses an unknown name, listing the closest names and how to see all, and a tensor of constants', async () => {
    const m = await model(SMALL_FILES.find((f) => f.endsWith('fashion-mnist-a.onnx'))!);
    const input = dataInput(m.graph);
    const shapes = inferShapes(m.graph, { [input.name]: input.shape });
    let error: unknown;
    try {
      cutGraph(m.graph, '/fc1/Gem', shapes);
    } catch (e) {
      error = e;
    }
    expect(isGraftError(error) && error.code).toBe('BAD_LAYER_REF');
    expect((error as Error).message).toMatch(/"\/fc1\/Gem" is no tensor or node of the graph .*Closest names: "\/fc1\/Gemm"/);
    expect((error as Error).message).toContain('`graft inspect model.onnx` lists them all');
    const g = { ...m.graph, nodes: [...m.graph.nodes, { op: 'Neg', inputs: ['fc1.bias'], outputs: ['negated'], name: 'neg' }] };
    expect(() => cutGraph(g, 'negated', inferShapes(g, { [input.name]: input.shape }))).toThrow(/Cannot cut at "negated": it is computed from constants alone/);
  });
});
