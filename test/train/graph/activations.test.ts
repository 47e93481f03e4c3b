import { describe, it } from 'vitest';
import { expectGradients, missing, one } from './gradcheck.js';

/** Pointwise activations on odd shapes; inputs spread over both sides of every kink. */
const SHAPES = [[7], [2, 3, 5]];

describe.skipIf(missing)('gradients of activations', () => {
  const cases: Array<[string, Record<string, unknown> | undefined, 'float64' | 'float32', number]> = [
    ['Relu', undefined, 'float64', 1e-4],
    ['LeakyRelu', { alpha: { float: 0.1 } }, 'float64', 1e-4],
    ['Sigmoid', undefined, 'float64', 1e-4],
    ['Tanh', undefined, 'float64', 1e-4],
    ['Exp', undefined, 'float64', 1e-4],
    // No float64 kernels in onnxruntime: float32 differences with h = 1e-2 (truncation ~1e-5, rounding ~1e-5).
    ['Erf', undefined, 'float32', 2e-3],
    ['HardSigmoid', { alpha: { float: 0.3 }, beta: { float: 0.4 } }, 'float32', 2e-3],
    ['HardSwish', undefined, 'float32', 2e-3],
  ];
  for (const [op, attrs, precision, tolerance] of cases) {
    it(op, async () => {
      for (const dims of SHAPES) {
        const c = one(op, { x: { dims, lo: -4.5, hi: 4.5 } }, attrs as never);
        c.floatStep = 1e-2;
        await expectGradients(`${op} ${JSON.stringify(dims)}`, c, tolerance, precision);
      }
    });
  }

  it('PRelu with a per-channel slope [C, 1, 1] and a scalar slope', async () => {
    await expectGradients('PRelu [C,1,1]', one('PRelu', { x: { dims: [2, 3, 2, 2] }, slope: { dims: [3, 1, 1], lo: 0.05, hi: 0.5 } }), 1e-4, 'float64');
    await expectGradients('PRelu scalar', one('PRelu', { x: { dims: [2, 5] }, slope: { dims: [1], lo: 0.05, hi: 0.5 } }), 1e-4, 'float64');
  });

  it('Gelu, exact and tanh-approximated (opset 20; float32 differences, h = 1e-2)', async () => {
    for (const approximate of ['none', 'tanh']) {
      const c = { ...one('Gelu', { x: { dims: [3, 5], lo: -4, hi: 4 } }, { approximate: { string: approximate } }), opset: 20, floatStep: 1e-2 };
      await expectGradients(`Gelu ${approximate}`, c, 2e-3);
    }
  });

  it('Sqrt and Reciprocal (positive inputs)', async () => {
    await expectGradients('Sqrt', one('Sqrt', { x: { dims: [2, 5], lo: 0.5, hi: 3 } }), 1e-4, 'float64');
    await expectGradients('Reciprocal', one('Reciprocal', { x: { dims: [2, 5], lo: 0.5, hi: 3 } }), 1e-4, 'float64');
  });

  it('Clip with both bounds, one bound, none', async () => {
    const bound = (v: number) => ({ dims: [], data: [v], trainable: false });
    await expectGradients('Clip min max', { nodes: [{ op: 'Clip', inputs: ['x', 'lo', 'hi'], outputs: ['y'] }], tensors: { x: { dims: [3, 5], lo: -2, hi: 2 }, lo: bound(-0.5), hi: bound(0.7) } }, 1e-4, 'float64');
    await expectGradients('Clip max only', { nodes: [{ op: 'Clip', inputs: ['x', '', 'hi'], outputs: ['y'] }], tensors: { x: { dims: [3, 5], lo: -2, hi: 2 }, hi: bound(0.7) } }, 1e-4, 'float64');
    await expectGradients('Clip none', { nodes: [{ op: 'Clip', inputs: ['x'], outputs: ['y'] }], tensors: { x: { dims: [4], lo: -2, hi: 2 } } }, 1e-4, 'float64');
  });
});
