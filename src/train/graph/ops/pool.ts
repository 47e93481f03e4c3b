import { GraftError } from '../../../errors.js';
import { describeNode, intAttr, intsAttr } from '../attrs.js';
import type { GradientFn } from '../gradient.js';
import { addAt } from '../scatter-back.js';
import { beginPadsOnly, convGeometry, padTo } from './conv.js';

/**
 * MaxPool: each output took one input element; dx adds dy at that element (positions from
 * MaxPool's Indices output, recomputed when the forward node did not ask for it). Overlapping
 * windows that pick the same element add up, as they should.
 */
const maxPool: GradientFn = (c) => {
  if (intAttr(c.node, 'storage_order', 0) !== 0) {
    throw new GraftError('BACKEND_UNAVAILABLE', `graft cannot differentiate ${describeNode(c.node)}: storage_order 1 (column-major indices) is not handled (received storage_order=1). Export with the default row-major order.`);
  }
  const x = c.node.inputs[0]!;
  const indices = c.node.outputs[1] || c.e.ops('MaxPool', [x], 2, c.node.attrs, 'maxpool_indices')[1]!;
  // Windows that cannot overlap pick each element at most once: MaxUnpool writes dy there, several
  // times faster in onnxruntime than the summing scatter (3-5x on graft's small CNN).
  const kernel = intsAttr(c.node, 'kernel_shape');
  if (kernel && intAttr(c.node, 'ceil_mode', 0) === 0) {
    const { strides, dilations, pads } = convGeometry(c, kernel.length);
    if (dilations.every((d) => d === 1) && strides.every((s, i) => s >= kernel[i]!)) {
      return [c.e.op('MaxUnpool', [c.dy[0]!, indices, c.e.shape(x)], { kernel_shape: kernel, strides, pads }, 'dx')];
    }
  }
  return [addAt(c.e, x, indices, c.dy[0]!)];
};

/**
 * AveragePool: y[j] = Σ_window x / count[j], so dx = Σ over windows containing x of dy[j]/count[j]
 * — a ConvTranspose of dy/count with a kernel of ones, per channel (channels folded into the
 * batch axis, so no channel count is needed). count = window size, or with count_include_pad 0
 * the real elements under it: window size · AveragePool(ones, counting pads).
 */
const averagePool: GradientFn = (c) => {
  const x = c.node.inputs[0]!;
  const kernel = intsAttr(c.node, 'kernel_shape')!;
  if (intAttr(c.node, 'ceil_mode', 0) !== 0) {
    throw new GraftError('BACKEND_UNAVAILABLE', `graft cannot differentiate ${describeNode(c.node)}: ceil_mode 1 is not handled for AveragePool yet (received ceil_mode=1). Export with ceil_mode 0.`);
  }
  const spatial = kernel.length;
  const rank = spatial + 2;
  const { strides, pads } = convGeometry(c, spatial);
  const e = c.e;
  const size = kernel.reduce((a, b) => a * b, 1);
  let scaled = e.op('Mul', [c.dy[0]!, e.scalar(1 / size)]);
  if (intAttr(c.node, 'count_include_pad', 0) === 0 && pads.some((p) => p !== 0)) {
    const ones = e.op('ConstantOfShape', [e.op('Concat', [e.ints([1, 1]), e.shapeFrom(x, 2)], { axis: 0 })], { value: { tensor: { name: '', dims: [1], data: Float32Array.of(1) } } });
    const share = e.op('AveragePool', [ones], { kernel_shape: kernel, strides, pads, count_include_pad: 1 });
    scaled = e.op('Div', [scaled, share]);
  }
  const rows = e.op('Reshape', [scaled, e.op('Concat', [e.ints([-1, 1]), e.shapeFrom(scaled, 2)], { axis: 0 })]);
  const kernelOnes = e.constantTensor(`ones${kernel.join('x')}`, [1, 1, ...kernel], new Float32Array(size).fill(1));
  const spread = e.op('ConvTranspose', [rows, kernelOnes], { strides, pads: beginPadsOnly(pads) });
  const xRows = e.op('Reshape', [x, e.op('Concat', [e.ints([-1, 1]), e.shapeFrom(x, 2)], { axis: 0 })]);
  return [e.op('Reshape', [padTo(e, spread, xRows, rank), e.shape(x)], undefined, 'dx')];
};

/** GlobalAveragePool: dx = dy (broadcast over the spatial axes) / (number of spatial positions). */
const globalAveragePool: GradientFn = (c) => {
  const x = c.node.inputs[0]!;
  const e = c.e;
  const count = e.op('Cast', [e.op('Div', [e.op('Size', [x]), e.op('Size', [c.dy[0]!])])], { to: 1 });
  return [e.op('Div', [e.op('Expand', [c.dy[0]!, e.shape(x)]), count], undefined, 'dx')];
};

export const poolGradients: Record<string, GradientFn> = { MaxPool: maxPool, AveragePool: averagePool, GlobalAveragePool: globalAveragePool };
