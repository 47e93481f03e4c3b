import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { foldConstants } from '../../../src/io/onnx/fold.js';
import { inferShapes } from '../../../src/io/onnx/shape-infer.js';
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
