import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { foldConstants } from '../../../src/io/onnx/fold.js';
import { inferShapes } from '../../../src/io/onnx/shape-infer.js';
import { FLOAT, type OnnxGraph } from '../../../src/engine/onnx/model-proto.js';
import { LARGE_FILES, LARGE_MISSING, SMALL_FILES, dataInput, feedFor, model, ort, runGraph } from './static-graph-fixtures.js';

/**
 * foldConstants on every fixture: the folded graph's outputs are bit-identical to the original's
 * on onnxruntime at batch 1 and 8 (the batch stays dynamic), it has no Constant node left, and on
 * the TorchScript BERT exports (whose Shape chains are the point) it has fewer nodes.
 */
async function checkFile(file: string): Promise<{ before: number; after: number; shapeOps: number }> {
  const m = await model(file);
  const input = dataInput(m.graph);
  const folded = foldConstants(m.graph, { [input.name]: input.shape });
  const o = await ort();
  for (const batch of [1, 8]) {
    const feeds = feedFor(o, m.graph, batch);
    const before = await runGraph(m, m.graph, feeds);
    const after = await runGraph(m, folded, feeds);
    for (const [name, r] of before) {
      const f = after.get(name)!;
      expect(f.dims, `${path.basename(file)} ${name} at batch ${batch}`).toEqual(r.dims);
      expect(Array.from(f.data), `${path.basename(file)} ${name} at batch ${batch}`).toEqual(Array.from(r.data));
    }
  }
  expect(folded.nodes.filter((n) => n.op === 'Constant')).toEqual([]);
  // Shapes of the folded graph are as fully known as before.
  const shapes = inferShapes(folded, { [input.name]: input.shape });
  expect([...shapes.values()].filter((f) => f.shape === null)).toEqual([]);
  return { before: m.graph.nodes.length, after: folded.nodes.length, shapeOps: folded.nodes.filter((n) => ['Shape', 'Gather', 'Concat', 'Unsqueeze', 'ConstantOfShape', 'Equal', 'Where'].includes(n.op)).length };
}

describe('foldConstants never changes results', () => {
  for (const file of SMALL_FILES) {
    it(path.basename(file), async () => {
      const r = await checkFile(file);
      if (file.includes('torchscript') && file.includes('bert')) {
        console.log(`${path.basename(file)}: ${r.before} → ${r.after} nodes, ${r.shapeOps} shape ops left`);
        expect(r.after).toBeLessThan(r.before);
      }
    });
  }
  it('large fixtures (resnet18, mobilenet_v3_small, efficientnet_b0)', async (ctx) => {
    if (LARGE_MISSING) {
      console.log(`skipped: ${LARGE_MISSING}`);
      ctx.skip();
    }
    for (const file of LARGE_FILES) {
      const r = await checkFile(file);
      console.log(`${path.basename(file)}: ${r.before} → ${r.after} nodes`);
    }
  }, 300_000);

  it('the dynamic batch stays: a graph reading the batch size keeps reading it at run time', async () => {
    const m = await model(SMALL_FILES.find((f) => f.includes('bert-tiny.torchscript-op17'))!);
    const input = dataInput(m.graph);
    const folded = foldConstants(m.graph, { [input.name]: input.shape });
    expect(folded.nodes.some((n) => n.op === 'Shape')).toBe(true);
    // With the batch fixed too, every Shape is gone.
    const fixed = foldConstants(m.graph, { [input.name]: input.shape.map((d) => (d === 'N' ? 8 : d)) });
    expect(fixed.nodes.filter((n) => n.op === 'Shape')).toEqual([]);
  });
});

describe('foldConstants on a small graph', () => {
  it('folds what is known, keeps the batch as a Shape/Gather at run time, and drops what nothing reads', async () => {
    const i64 = (name: string, dims: number[], values: number[]) => ({ name, dims, data: BigInt64Array.from(values.map(BigInt)) });
    // y = Reshape(x, [batch, C*H]) with C and H read from x's shape; `unused` reads nothing.
    const g: OnnxGraph = {
      inputs: [{ name: 'x', type: FLOAT, shape: ['batch', 3, 4] }],
      outputs: [{ name: 'y', type: FLOAT }],
      initializers: [i64('zero', [], [0]), i64('one', [], [1]), i64('two', [], [2]), i64('axes', [1], [0])],
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'] },
        { op: 'Gather', inputs: ['s', 'zero'], outputs: ['b'], attrs: { axis: 0 } },
        { op: 'Gather', inputs: ['s', 'one'], outputs: ['c'], attrs: { axis: 0 } },
        { op: 'Gather', inputs: ['s', 'two'], outputs: ['h'], attrs: { axis: 0 } },
        { op: 'Mul', inputs: ['c', 'h'], outputs: ['ch'] },
        { op: 'Unsqueeze', inputs: ['b', 'axes'], outputs: ['b1'] },
        { op: 'Unsqueeze', inputs: ['ch', 'axes'], outputs: ['ch1'] },
        { op: 'Concat', inputs: ['b1', 'ch1'], outputs: ['target'], attrs: { axis: 0 } },
        { op: 'Constant', inputs: [], outputs: ['unused'], attrs: { value: { tensor: i64('', [1], [7]) } } },
        { op: 'Reshape', inputs: ['x', 'target'], outputs: ['y'] },
      ],
    };
    const f = foldConstants(g, { x: ['N', 3, 4] });
    expect(f.nodes.map((n) => n.op)).toEqual(['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Reshape']);
    const ch1 = f.initializers.find((t) => t.name === 'ch1')!;
    expect(Array.from(ch1.data as BigInt64Array)).toEqual([12n]);
    expect(f.initializers.map((t) => t.name).sort()).toEqual(['axes', 'ch1', 'zero']);
    const m = { irVersion: 8, opsets: [{ domain: '', version: 17 }], graphName: 'g', graph: g };
    const o = await ort();
    for (const batch of [2, 5]) {
      const x = new o.Tensor('float32', Float32Array.from({ length: batch * 12 }, (_, i) => i), [batch, 3, 4]);
      const before = (await runGraph(m, g, { x })).get('y')!;
      const after = (await runGraph(m, f, { x })).get('y')!;
      expect(after.dims).toEqual([batch, 12]);
      expect(Array.from(after.data)).toEqual(Array.from(before.data));
    }
  });
});
