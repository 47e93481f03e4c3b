import { describe, it } from 'vitest';
import { expectGradients, missing, one } from './gradcheck.js';

describe.skipIf(missing)('gradients of Gemm and MatMul (float64 finite differences)', () => {
  it('Gemm: every transA/transB, alpha and beta, C as a row, a column, a scalar and a full matrix', async () => {
    const [m, k, n] = [3, 4, 5];
    for (const transA of [0, 1]) {
      for (const transB of [0, 1]) {
        for (const cDims of [[n], [m, 1], [], [m, n]]) {
          const c = one('Gemm', { a: { dims: transA ? [k, m] : [m, k] }, b: { dims: transB ? [n, k] : [k, n] }, c: { dims: cDims } }, { transA, transB, alpha: { float: 0.7 }, beta: { float: -1.3 } });
          await expectGradients(`Gemm transA ${transA} transB ${transB} C ${JSON.stringify(cDims)}`, c, 1e-4, 'float64');
        }
      }
    }
    await expectGradients('Gemm without C', one('Gemm', { a: { dims: [2, 3] }, b: { dims: [3, 4] } }), 1e-4, 'float64');
  });

  it('MatMul: plain, batched, batch-broadcast on either side, odd sizes', async () => {
    const shapes: Array<[number[], number[]]> = [
      [[3, 4], [4, 5]],
      [[2, 3, 4], [2, 4, 5]],
      [[2, 3, 4], [4, 5]],
      [[3, 4], [2, 4, 5]],
      [[2, 1, 3, 4], [3, 4, 1]],
    ];
    for (const [a, b] of shapes) await expectGradients(`MatMul ${JSON.stringify(a)} ${JSON.stringify(b)}`, one('MatMul', { a: { dims: a }, b: { dims: b } }), 1e-4, 'float64');
  });
});
