import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inferShapes } from '../../../src/io/onnx/shape-infer.js';
import { isGraftError } from '../../../src/errors.js';
import { LARGE_FILES, LARGE_MISSING, SMALL_FILES, dataInput, everyTensorOut, feedFor, model, ort, runGraph, typeName } from './static-graph-fixtures.js';

/**
 * inferShapes against onnxruntime: every tensor of every fixture graph made an output, run at
 * batch 1 and 8; each inferred shape (the batch 'N' replaced by the batch) and type must equal
 * what onnxruntime computed, and no shape may be left unknown.
 */
async function checkFile(file: string): Promise<number> {
  const m = await model(file);
  const input = dataInput(m.graph);
  const facts = inferShapes(m.graph, { [input.name]: input.shape });
  const graph = everyTensorOut(m.graph, (n) => facts.get(n)!.type);
  const o = await ort();
  const wrong: string[] = [];
  for (const batch of [1, 8]) {
    const out = await runGraph(m, graph, feedFor(o, m.graph, batch));
    for (const [name, r] of out) {
      const f = facts.get(name)!;
      const shape = f.shape?.map((d) => (d === 'N' ? batch : d));
      if (JSON.stringify(shape) !== JSON.stringify(r.dims) || typeName(f.type) !== r.type) {
        wrong.push(`${name}: inferred ${typeName(f.type)} ${JSON.stringify(f.shape)}, onnxruntime ${r.type} ${JSON.stringify(r.dims)} at batch ${batch}`);
      }
    }
  }
  expect(wrong.slice(0, 5), `${path.basename(file)}: ${wrong.length} tensors wrong`).toEqual([]);
  return graph.outputs.length;
}

describe('inferShapes equals onnxruntime on every tensor', () => {
  for (const file of SMALL_FILES) {
    it(path.basename(file), async () => {
      expect(await checkFile(file)).toBeGreaterThan(0);
    });
  }
  it('large fixtures (resnet18, mobilenet_v3_small, efficientnet_b0)', async (ctx) => {
    if (LARGE_MISSING) {
      console.log(`skipped: ${LARGE_MISSING}`);
      ctx.skip();
    }
    for (const file of LARGE_FILES) await checkFile(file);
  }, 300_000);
});
