import { describe, expect, it } from 'vitest';
import { encodeOnnxModel, FLOAT, type OnnxGraph } from '../../../src/engine/onnx/model-proto.js';
import { dropIdentities } from '../../../src/train/graph/identities.js';
import { missing, ort } from './gradcheck.js';

/**
 * x → Relu → r → Identity → g (inner copy) → Add(g, x) → a; graph outputs: `out` = Identity(a)
 * (droppable: a is a node's), `same` = Identity(a) again (a second output of one tensor: kept),
 * `passed` = Identity(x) (a graph input: kept), `copy2` = Identity(Identity(r)) (a chain).
 */
function sample(): OnnxGraph {
  return {
    inputs: [{ name: 'x', type: FLOAT, shape: [2, 3] }],
    outputs: ['out', 'same', 'passed', 'copy2'].map((name) => ({ name, type: FLOAT, shape: [2, 3] })),
    initializers: [],
    nodes: [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'Identity', inputs: ['r'], outputs: ['g'] },
      { op: 'Add', inputs: ['g', 'x'], outputs: ['a'] },
      { op: 'Identity', inputs: ['a'], outputs: ['out'] },
      { op: 'Identity', inputs: ['a'], outputs: ['same'] },
      { op: 'Identity', inputs: ['x'], outputs: ['passed'] },
      { op: 'Identity', inputs: ['r'], outputs: ['r2'] },
      { op: 'Identity', inputs: ['r2'], outputs: ['copy2'] },
    ],
  };
}

async function run(graph: OnnxGraph): Promise<Record<string, number[]>> {
  if (typeof ort === 'string') throw new Error(ort);
  const bytes = encodeOnnxModel({ irVersion: 8, producerName: 'test', opsets: [{ domain: '', version: 17 }], graphName: 'g', graph });
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(-1, 2, -3, 4, -5, 6), [2, 3]) });
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Array.from(v.data as Float32Array)]));
}

describe('dropIdentities', () => {
  it('drops inner copies and copies into outputs a node produces, keeping outputs of inputs and second outputs', () => {
    const g = dropIdentities(sample());
    const copies = g.nodes.filter((n) => n.op === 'Identity').map((n) => `${n.inputs[0]}→${n.outputs[0]}`);
    expect(copies.sort()).toEqual(['out→same', 'x→passed']);
    // The Add writes `out` itself, and the Relu writes `copy2` (its copies' chain ends at an output).
    expect(g.nodes.find((n) => n.op === 'Add')!.outputs).toEqual(['out']);
    expect(g.nodes.find((n) => n.op === 'Relu')!.outputs).toEqual(['copy2']);
  });

  it.skipIf(missing)('computes the same outputs on onnxruntime', async () => {
    const before = await run(sample());
    const after = await run(dropIdentities(sample()));
    expect(after).toEqual(before);
    expect(before.out).toEqual([-1, 4, -3, 8, -5, 12]);
  });
});
