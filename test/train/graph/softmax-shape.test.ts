import { describe, it } from 'vitest';
import { expectGradients, missing, one } from './gradcheck.js';

const ints = (data: number[]) => ({ dims: [data.length], data, int: true });

describe.skipIf(missing)('gradients of the softmax family and of shape ops (float64 finite differences)', () => {
  it('Softmax and LogSoftmax along the last, the first and a middle axis', async () => {
    for (const op of ['Softmax', 'LogSoftmax']) {
      for (const axis of [-1, 0, 1]) await expectGradients(`${op} axis ${axis}`, one(op, { x: { dims: [3, 4, 5], lo: -3, hi: 3 } }, { axis }), 1e-4, 'float64');
    }
  });

  it('SoftmaxCrossEntropyLoss (mean and sum) from scores and int64 labels', async () => {
    for (const reduction of ['mean', 'sum']) {
      await expectGradients(
        `SoftmaxCrossEntropyLoss ${reduction}`,
        one('SoftmaxCrossEntropyLoss', { x: { dims: [5, 3], lo: -2, hi: 2 }, labels: { dims: [5], data: [0, 2, 1, 2, 2], int: true } }, { reduction: { string: reduction } }),
        1e-4,
        'float64',
      );
    }
  });

  it('Reshape, Flatten, Squeeze, Unsqueeze, Transpose (with and without perm)', async () => {
    await expectGradients('Reshape', one('Reshape', { x: { dims: [2, 3, 4] }, shape: ints([4, -1]) }), 1e-4, 'float64');
    await expectGradients('Flatten axis 2', one('Flatten', { x: { dims: [2, 3, 4, 5] } }, { axis: 2 }), 1e-4, 'float64');
    await expectGradients('Squeeze', one('Squeeze', { x: { dims: [2, 1, 3] }, axes: ints([1]) }), 1e-4, 'float64');
    await expectGradients('Unsqueeze', one('Unsqueeze', { x: { dims: [2, 3] }, axes: ints([0, 3]) }), 1e-4, 'float64');
    await expectGradients('Transpose perm', one('Transpose', { x: { dims: [2, 3, 4] } }, { perm: [1, 2, 0] }), 1e-4, 'float64');
    await expectGradients('Transpose reversed', one('Transpose', { x: { dims: [2, 3, 4] } }), 1e-4, 'float64');
  });

  it('Concat along axis 1 and −1, odd sizes', async () => {
    await expectGradients('Concat 1', one('Concat', { a: { dims: [2, 3, 2] }, b: { dims: [2, 1, 2] }, c: { dims: [2, 4, 2] } }, { axis: 1 }), 1e-4, 'float64');
    await expectGradients('Concat -1', one('Concat', { a: { dims: [3, 2] }, b: { dims: [3, 5] } }, { axis: -1 }), 1e-4, 'float64');
  });

  it('Slice with steps, negative indices and a reversed axis; Gather rows read twice (an embedding)', async () => {
    await expectGradients('Slice', one('Slice', { x: { dims: [5, 6] }, starts: ints([1, -1]), ends: ints([5, 0]), axes: ints([0, 1]), steps: ints([2, -2]) }), 1e-4, 'float64');
    await expectGradients('Gather axis 0', one('Gather', { table: { dims: [6, 4] }, ids: { dims: [2, 3], data: [1, 4, 1, 0, 5, 1], int: true } }), 1e-4, 'float64');
    await expectGradients('Gather axis 1', one('Gather', { table: { dims: [3, 5] }, ids: { dims: [4], data: [4, 0, 4, 2], int: true } }, { axis: 1 }), 1e-4, 'float64');
  });

  it('ReduceMean and ReduceSum: some axes, keepdims 0 and 1, all axes', async () => {
    for (const op of ['ReduceMean', 'ReduceSum']) {
      if (op === 'ReduceMean') {
        await expectGradients(`${op} axes [1] keepdims 0`, one(op, { x: { dims: [2, 3, 4] } }, { axes: [1], keepdims: 0 }), 1e-4, 'float64');
        await expectGradients(`${op} axes [0,-1]`, one(op, { x: { dims: [2, 3, 4] } }, { axes: [0, -1] }), 1e-4, 'float64');
        await expectGradients(`${op} all`, one(op, { x: { dims: [2, 3, 4] } }, { keepdims: 0 }), 1e-4, 'float64');
      } else {
        await expectGradients(`${op} axes [1] keepdims 0`, one(op, { x: { dims: [2, 3, 4] }, axes: ints([1]) }, { keepdims: 0 }), 1e-4, 'float64');
        await expectGradients(`${op} all`, one(op, { x: { dims: [2, 3, 4] } }), 1e-4, 'float64');
      }
    }
  });

  it('Split into unequal parts (one part unused), Pad with constant zeros', async () => {
    await expectGradients(
      'Split',
      {
        nodes: [
          { op: 'Split', inputs: ['x', 'sizes'], outputs: ['p', 'unused', 'q'], attrs: { axis: 1 } },
          { op: 'Mul', inputs: ['p', 'q'], outputs: ['y'] },
        ],
        tensors: { x: { dims: [2, 7] }, sizes: ints([3, 1, 3]) },
      },
      1e-4,
      'float64',
    );
    await expectGradients('Pad', one('Pad', { x: { dims: [2, 3, 4] }, pads: ints([0, 1, 2, 0, 2, 1]) }), 1e-4, 'float64');
  });

  it('Identity and Dropout (inference)', async () => {
    await expectGradients('Identity', one('Identity', { x: { dims: [3] } }), 1e-4, 'float64');
    await expectGradients('Dropout', one('Dropout', { x: { dims: [2, 3] } }), 1e-4, 'float64');
  });
});
