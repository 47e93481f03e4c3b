import { describe, expect, it } from 'vitest';
import type { OnnxModel } from '../../../src/engine/onnx/model-proto.js';
import { describeOnnxModel, shapeText } from '../../../src/io/onnx/summary.js';

/** What inspect counts: weights (floating initializers) once each, constants apart, real inputs only. */

describe('describeOnnxModel', () => {
  const model: OnnxModel = {
    irVersion: 3,
    opsets: [{ domain: 'ai.onnx', version: 9 }, { domain: 'com.microsoft', version: 1 }],
    graphName: 'g',
    graph: {
      // Before IR 4 every initializer is listed as a graph input too.
      inputs: [{ name: 'x', shape: ['n', 4] }, { name: 'w', shape: [4, 4] }],
      outputs: [{ name: 'z', type: 7, shape: undefined }],
      initializers: [
        { name: 'w', dims: [4, 4], data: new Float32Array(16) },
        { name: 'half', dims: [4], data: new Uint16Array(4), dataType: 10 },
        { name: 'shape', dims: [2], data: BigInt64Array.of(-1n, 4n) },
      ],
      nodes: [
        { op: 'MatMul', inputs: ['x', 'w'], outputs: ['a'] },
        // The same weight read twice by one node and again by the next: one row each, once in the total.
        { op: 'Gemm', inputs: ['a', 'w', 'w'], outputs: ['b'], name: 'gemm' },
        { op: 'FusedThing', domain: 'com.microsoft', inputs: ['b', 'half', 'shape'], outputs: ['z'] },
      ],
    },
  };

  it('counts floating initializers as parameters, once each; int constants apart; inputs without initializers', () => {
    const s = describeOnnxModel(model);
    expect(s.totalParams).toBe(20);
    expect(s.constantElements).toBe(2);
    expect(s.nodes.map((n) => [n.name, n.op, n.domain, n.params])).toEqual([['', 'MatMul', undefined, 16], ['gemm', 'Gemm', undefined, 16], ['', 'FusedThing', 'com.microsoft', 4]]);
    expect(s.inputs).toEqual([{ name: 'x', type: 'float32', shape: ['n', 4] }]);
    expect(s.outputs).toEqual([{ name: 'z', type: 'int64', shape: null }]);
    expect(s.opsets).toEqual({ 'ai.onnx': 9, 'com.microsoft': 1 });
    expect([shapeText(['n', null, 3]), shapeText(null)]).toEqual(['[n, ?, 3]', 'unknown']);
  });
});
