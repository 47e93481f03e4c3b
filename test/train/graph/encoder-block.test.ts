import { describe, it } from 'vitest';
import { expectGradients, missing } from './gradcheck.js';

/**
 * A BERT-like attention block as one graph, checked end to end against float64 finite
 * differences: embedding rows (Gather, a row read twice), LayerNorm, the normalised tensor read
 * three times (queries, keys, values), batched MatMuls with a transposed operand, a broadcast
 * scale and bias, Softmax over keys, a residual Add, Tanh, ReduceMean.
 */
describe.skipIf(missing)('gradients through a small attention block (float64 finite differences)', () => {
  it('every parameter: embedding table, LayerNorm scale and bias, Q/K/V weights, output bias', async () => {
    const [T, D, V] = [4, 3, 6];
    await expectGradients(
      'attention block',
      {
        nodes: [
          { op: 'Gather', inputs: ['table', 'ids'], outputs: ['emb'] }, // [2, T, D]
          { op: 'LayerNormalization', inputs: ['emb', 'ln_scale', 'ln_bias'], outputs: ['h'], attrs: { axis: -1 } },
          { op: 'MatMul', inputs: ['h', 'wq'], outputs: ['q'] },
          { op: 'MatMul', inputs: ['h', 'wk'], outputs: ['k'] },
          { op: 'MatMul', inputs: ['h', 'wv'], outputs: ['v'] },
          { op: 'Transpose', inputs: ['k'], outputs: ['kt'], attrs: { perm: [0, 2, 1] } },
          { op: 'MatMul', inputs: ['q', 'kt'], outputs: ['scores'] }, // [2, T, T]
          { op: 'Mul', inputs: ['scores', 'scale'], outputs: ['scaled'] },
          { op: 'Softmax', inputs: ['scaled'], outputs: ['attn'], attrs: { axis: -1 } },
          { op: 'MatMul', inputs: ['attn', 'v'], outputs: ['ctx'] },
          { op: 'Add', inputs: ['ctx', 'h'], outputs: ['res'] },
          { op: 'Add', inputs: ['res', 'out_bias'], outputs: ['biased'] },
          { op: 'Tanh', inputs: ['biased'], outputs: ['t'] },
          { op: 'ReduceMean', inputs: ['t'], outputs: ['y'], attrs: { axes: [1], keepdims: 0 } },
        ],
        tensors: {
          table: { dims: [V, D] },
          ids: { dims: [2, T], data: [1, 3, 1, 5, 0, 2, 2, 4], int: true },
          ln_scale: { dims: [D], lo: 0.5, hi: 1.5 },
          ln_bias: { dims: [D] },
          wq: { dims: [D, D] },
          wk: { dims: [D, D] },
          wv: { dims: [D, D] },
          scale: { dims: [], data: [1 / Math.sqrt(D)], trainable: false },
          out_bias: { dims: [D] },
        },
      },
      1e-4,
      'float64',
    );
  });
});
