import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inferShapes } from '../../../src/io/onnx/shape-infer.js';
import { isGraftError } from '../../../src/errors.js';
import { FLOAT, INT64, type OnnxGraph } from '../../../src/engine/onnx/model-proto.js';
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

describe('inferShapes on small graphs', () => {
  const i64 = (name: string, values: number[]) => ({ name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
  // TorchScript's flatten: Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])).
  const flatten: OnnxGraph = {
    inputs: [{ name: 'x', type: FLOAT, shape: ['batch', 3, 4] }],
    outputs: [{ name: 'y' }],
    initializers: [{ name: 'zero', dims: [], data: BigInt64Array.of(0n) }, i64('axes', [0]), i64('minus', [-1])],
    nodes: [
      { op: 'Shape', inputs: ['x'], outputs: ['s'] },
      { op: 'Gather', inputs: ['s', 'zero'], outputs: ['b'], attrs: { axis: 0 } },
      { op: 'Unsqueeze', inputs: ['b', 'axes'], outputs: ['b1'] },
      { op: 'Concat', inputs: ['b1', 'minus'], outputs: ['target'], attrs: { axis: 0 } },
      { op: 'Reshape', inputs: ['x', 'target'], outputs: ['y'] },
    ],
  };

  it('keeps the batch symbolic through a Shape → Gather → Unsqueeze → Concat → Reshape chain', () => {
    const f = inferShapes(flatten, { x: ['N', 3, 4] });
    expect(f.get('target')).toEqual({ type: INT64, shape: [2], value: ['N', -1] });
    expect(f.get('y')).toEqual({ type: FLOAT, shape: ['N', 12] });
    // With the batch fixed, the target is a constant.
    expect(inferShapes(flatten, { x: [5, 3, 4] }).get('target')!.value).toEqual([5, -1]);
  });

  it('an op it does not know leaves shapes unknown downstream; strict mode refuses it', () => {
    const g: OnnxGraph = { ...flatten, nodes: [{ op: 'Mystery', inputs: ['x'], outputs: ['m'], name: 'odd' }, { op: 'Relu', inputs: ['m'], outputs: ['y'] }] };
    const f = inferShapes(g, { x: ['N', 3, 4] });
    expect(f.get('m')!.shape).toBeNull();
    expect(f.get('y')!.shape).toBeNull();
    let error: unknown;
    try {
      inferShapes(g, { x: ['N', 3, 4] }, { strict: true });
    } catch (e) {
      error = e;
    }
    expect(isGraftError(error) && error.code).toBe('UNSUPPORTED_OP');
    expect((error as Error).message).toMatch(/does not know the op "Mystery" of node "odd" \(Mystery\)\. Known ops: .*Conv.*without \{ strict: true \}/);
  });

  it('refuses shapes for a name that is no input', () => {
    expect(() => inferShapes(flatten, { image: ['N', 3, 4] })).toThrow(/"image" is no input of the graph .*Name one of its inputs: x/);
  });
});
