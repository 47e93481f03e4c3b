import { describe, it } from 'vitest';
import { expectGradients, missing, one } from './gradcheck.js';

/** Broadcasting arithmetic: same shapes, a bias row, a column, a scalar, odd sizes, both sides broadcast. */
const SHAPES: Array<[number[], number[]]> = [
  [[3, 5], [3, 5]],
  [[2, 3, 5], [5]],
  [[4, 1], [1, 3]],
  [[2, 3, 1, 5], [3, 7, 1]],
  [[3, 5], []],
];

describe.skipIf(missing)('gradients of broadcasting arithmetic (float64 finite differences)', () => {
  for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
    it(op, async () => {
      for (const [a, b] of SHAPES) {
        // Div's divisor stays away from 0, where finite differences are unreliable.
        const bSpec = op === 'Div' ? { dims: b, lo: 0.5, hi: 2 } : { dims: b };
        await expectGradients(`${op} ${JSON.stringify(a)} ${JSON.stringify(b)}`, one(op, { a: { dims: a }, b: bSpec }), 1e-4, 'float64');
        // The mirrored case, where the first input is the broadcast one (same shapes: already checked).
        if (JSON.stringify(a) !== JSON.stringify(b)) await expectGradients(`${op} ${JSON.stringify(b)} ${JSON.stringify(a)}`, one(op, { a: { dims: b }, b: op === 'Div' ? { dims: a, lo: 0.5, hi: 2 } : { dims: a } }), 1e-4, 'float64');
      }
    });
  }

  it('Sum (variadic, broadcasting)', async () => {
    await expectGradients('Sum', one('Sum', { a: { dims: [2, 3] }, b: { dims: [3] }, c: { dims: [2, 1] } }), 1e-4, 'float64');
  });

  it('a tensor read twice gets the sum of both gradients (Mul(x, x), and x feeding two nodes)', async () => {
    await expectGradients('x·x', { nodes: [{ op: 'Mul', inputs: ['x', 'x'], outputs: ['y'] }], tensors: { x: { dims: [3, 4] } } }, 1e-4, 'float64');
    await expectGradients(
      'tanh(x) + sigmoid(x)',
      {
        nodes: [
          { op: 'Tanh', inputs: ['x'], outputs: ['t'] },
          { op: 'Sigmoid', inputs: ['x'], outputs: ['s'] },
          { op: 'Add', inputs: ['t', 's'], outputs: ['y'] },
        ],
        tensors: { x: { dims: [2, 5] } },
      },
      1e-4,
      'float64',
    );
  });
});

describe.skipIf(missing)('unbroadcasting when the input shape is only known at run time', () => {
  for (const op of ['Add', 'Mul']) {
    it(`${op}: rank known, dims not (the input is an activation)`, async () => {
      await expectGradients(
        `${op} dynamic dims`,
        {
          nodes: [
            { op: 'Tanh', inputs: ['b'], outputs: ['tb'] },
            { op, inputs: ['a', 'tb'], outputs: ['y'] },
          ],
          tensors: { a: { dims: [2, 3, 4] }, b: { dims: [3, 1] } },
        },
        1e-4,
        'float64',
      );
    });
    it(`${op}: rank unknown too (reshaped by a computed shape)`, async () => {
      await expectGradients(
        `${op} dynamic rank`,
        {
          nodes: [
            { op: 'Shape', inputs: ['b'], outputs: ['sb'] },
            { op: 'Reshape', inputs: ['b', 'sb'], outputs: ['rb'] },
            { op, inputs: ['a', 'rb'], outputs: ['y'] },
          ],
          tensors: { a: { dims: [2, 3, 4] }, b: { dims: [3, 1] } },
        },
        1e-4,
        'float64',
      );
    });
  }
});

describe.skipIf(missing)('gradients of Pow, Where, Expand, Cast (float64 finite differences)', () => {
  it('Pow: trained base and exponent, broadcast exponent', async () => {
    await expectGradients('Pow', one('Pow', { a: { dims: [3, 4], lo: 0.5, hi: 2 }, b: { dims: [4], lo: -1.5, hi: 2.5 } }), 1e-4, 'float64');
    await expectGradients('Pow constant 2', one('Pow', { a: { dims: [2, 3] }, b: { dims: [], data: [2], trainable: false } }), 1e-4, 'float64');
  });

  it('Where: both branches broadcast against the condition', async () => {
    await expectGradients(
      'Where',
      {
        nodes: [
          { op: 'Greater', inputs: ['a', 'zero'], outputs: ['cond'] },
          { op: 'Where', inputs: ['cond', 'a', 'b'], outputs: ['y'] },
        ],
        tensors: { a: { dims: [3, 4] }, zero: { dims: [], data: [0], trainable: false }, b: { dims: [4] } },
      },
      1e-4,
      'float64',
    );
  });

  // The backward is float32 throughout (its constants are float32), so the Cast checked is the
  // float → float one exporters leave in graphs; a float64 stretch inside a model is not handled.
  it('Expand to a larger rank and along size-1 axes; a float → float Cast', async () => {
    await expectGradients('Expand', one('Expand', { x: { dims: [3, 1] }, shape: { dims: [3], data: [2, 3, 4], int: true } }), 1e-4, 'float64');
    await expectGradients(
      'Cast',
      {
        nodes: [
          { op: 'Cast', inputs: ['x'], outputs: ['same'], attrs: { to: 1 } },
          { op: 'Tanh', inputs: ['same'], outputs: ['y'] },
        ],
        tensors: { x: { dims: [2, 3] } },
        floatStep: 1e-2,
      },
      1e-3,
      'float32', // the Cast pins the reference to float32
    );
  });
});
