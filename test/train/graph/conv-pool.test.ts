import { describe, it } from 'vitest';
import { expectGradients, missing, one, type OpCase } from './gradcheck.js';

/**
 * onnxruntime's CPU provider has Conv, ConvTranspose and the average pools in float32 only, so
 * their reference runs in float32 — with a step of 0.5, which is exact for them: the loss is
 * linear in any one input or weight element, and only float32 rounding of the loss remains.
 */
const linear = (c: OpCase): OpCase => ({ ...c, floatStep: 0.5 });

describe.skipIf(missing)('gradients of Conv and pooling', () => {
  const convs: Array<[string, number[], number[], Record<string, number[] | number>]> = [
    ['3×3 pad 1', [2, 3, 5, 5], [4, 3, 3, 3], { pads: [1, 1, 1, 1] }],
    ['stride 2 with unread rows, asymmetric pads', [2, 2, 7, 6], [3, 2, 3, 2], { strides: [2, 2], pads: [1, 0, 0, 1] }],
    ['dilation 2, stride 2', [1, 2, 9, 8], [2, 2, 3, 3], { dilations: [2, 2], strides: [2, 1] }],
    ['groups 2', [2, 4, 5, 5], [6, 2, 3, 3], { group: 2, pads: [1, 1, 1, 1] }],
    ['depthwise ×2, stride 2', [2, 3, 6, 6], [6, 1, 3, 3], { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] }],
    ['1×1', [2, 3, 4, 4], [5, 3, 1, 1], {}],
    ['depthwise ×2, dilation 2, stride 1', [2, 3, 7, 7], [6, 1, 3, 3], { group: 3, dilations: [2, 2], pads: [2, 1, 2, 2] }],
    ['3×2 kernel, dilations [2, 1], stride 1', [1, 2, 6, 5], [3, 2, 3, 2], { dilations: [2, 1], pads: [1, 0, 2, 1] }],
    ['1×1 with pads wider than the kernel', [1, 2, 3, 3], [3, 2, 1, 1], { pads: [1, 0, 1, 1] }],
    ['stride 3, end padding never reached', [1, 2, 7, 7], [2, 2, 3, 3], { strides: [3, 3], pads: [2, 2, 2, 2] }],
    ['1-D', [2, 3, 9], [4, 3, 3], { strides: [2], pads: [1, 1] }],
    // dW's faster forms (conv-weight.ts): im2col + Gemm from 16 input channels, MatMul for 1×1.
    ['16 channels (im2col): 3×2 kernel, strides [2, 1], dilations [1, 2], asymmetric pads', [2, 16, 7, 6], [3, 16, 3, 2], { strides: [2, 1], dilations: [1, 2], pads: [1, 0, 0, 1] }],
    ['16 channels (im2col), 1-D, stride 2', [2, 16, 9], [3, 16, 3], { strides: [2], pads: [1, 1] }],
    ['1×1 stride 2 with an unread last row (MatMul)', [2, 3, 5, 4], [4, 3, 1, 1], { strides: [2, 2] }],
  ];
  for (const [what, x, w, attrs] of convs) {
    it(`Conv ${what}`, async () => {
      await expectGradients(`Conv ${what}`, linear(one('Conv', { x: { dims: x }, w: { dims: w }, b: { dims: [w[0]!] } }, attrs)), 1e-4, 'float32');
    });
  }
  it('Conv without bias', async () => {
    await expectGradients('Conv no bias', linear(one('Conv', { x: { dims: [1, 2, 4, 4] }, w: { dims: [3, 2, 2, 2] } }, {})), 1e-4, 'float32');
  });

  it('AveragePool: strides, pads counted and not counted, odd sizes; GlobalAveragePool', async () => {
    for (const count_include_pad of [0, 1]) {
      await expectGradients(`AveragePool 2×2 / 2 pads count_include_pad ${count_include_pad}`, linear(one('AveragePool', { x: { dims: [1, 2, 6, 5] } }, { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad })), 1e-4, 'float32');
      await expectGradients(`AveragePool pads count_include_pad ${count_include_pad}`, linear(one('AveragePool', { x: { dims: [2, 3, 7, 5] } }, { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad })), 1e-4, 'float32');
    }
    await expectGradients('AveragePool 2×2 / 2', linear(one('AveragePool', { x: { dims: [1, 2, 5, 4] } }, { kernel_shape: [2, 2], strides: [2, 2] })), 1e-4, 'float32');
    await expectGradients('GlobalAveragePool', linear(one('GlobalAveragePool', { x: { dims: [2, 3, 5, 3] } })), 1e-4, 'float32');
  });

  it('MaxPool: non-overlapping, overlapping with pads (an element picked by several windows), dilated', async () => {
    const cases: Array<[string, Record<string, number[]>]> = [
      ['2×2 / 2', { kernel_shape: [2, 2], strides: [2, 2] }],
      ['3×3 / 1 pads 1', { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] }],
      ['2×2 dilation 2', { kernel_shape: [2, 2], dilations: [2, 2] }],
    ];
    for (const [what, attrs] of cases) await expectGradients(`MaxPool ${what}`, one('MaxPool', { x: { dims: [2, 2, 5, 5] } }, attrs), 1e-4);
  });
});

describe.skipIf(missing)('gradients of normalisation layers (float64 finite differences)', () => {
  it('BatchNormalization in training mode (batch statistics), NCHW and [N, C]', async () => {
    for (const x of [[4, 3, 3, 2], [5, 4]]) {
      const c = x[1]!;
      await expectGradients(
        `BatchNormalization training ${JSON.stringify(x)}`,
        {
          // onnxruntime wants the running-statistics outputs in training mode; the loss ignores them.
          nodes: [{ op: 'BatchNormalization', inputs: ['x', 'gamma', 'beta', 'mean', 'var'], outputs: ['y', 'running_mean', 'running_var'], attrs: { training_mode: 1, epsilon: { float: 1e-3 } } }],
          tensors: { x: { dims: x }, gamma: { dims: [c], lo: 0.5, hi: 1.5 }, beta: { dims: [c] }, mean: { dims: [c], trainable: false }, var: { dims: [c], lo: 0.5, hi: 1.5, trainable: false } },
        },
        1e-4,
        'float64',
      );
    }
  });

  it('BatchNormalization in inference mode (running statistics: a frozen BN)', async () => {
    await expectGradients(
      'BatchNormalization inference',
      one('BatchNormalization', { x: { dims: [2, 3, 2, 2] }, gamma: { dims: [3] }, beta: { dims: [3] }, mean: { dims: [3], trainable: false }, var: { dims: [3], lo: 0.5, hi: 1.5, trainable: false } }),
      1e-4,
      'float64',
    );
  });

  it('LayerNormalization over the last axis and the last two', async () => {
    for (const [axis, scale] of [[-1, [5]], [1, [3, 5]]] as const) {
      await expectGradients(`LayerNormalization axis ${axis}`, one('LayerNormalization', { x: { dims: [2, 3, 5] }, gamma: { dims: [...scale], lo: 0.5, hi: 1.5 }, beta: { dims: [...scale] } }, { axis }), 1e-4, 'float64');
    }
  });
});
