// Retired from training (GraphStepper replaced the per-layer chain engine); kept only as the
// reference test/train/graph/network.test.ts compares the autodiff against. Delete with that test's reference.
import type { GraphBuilder } from '../../engine/onnx/graph-builder.js';
import type { LayerStep } from '../layer-chain.js';
import { activate, activationGrad } from './activations.js';

/** Gradient of one layer: from dL/d(output) to dL/d(input) (undefined when nothing below needs it). */
export type Backward = (dy: string, fromLogits: boolean, needDx: boolean) => string | undefined;

/** How an image tensor is laid out in the graph; vectors are 'flat'. */
export type Layout = 'nhwc' | 'nchw' | 'flat';

/** Applies the optimizer update to variable v of the layer, given its gradient (TF layout). */
export type Update = (v: number, grad: string) => void;

/** Dropout layers that actually drop (TF.js skips rate 0 and rate 1). */
export function drops(step: LayerStep): boolean {
  return step.kind === 'dropout' && step.rate > 0 && step.rate < 1;
}

/*
 * Forward and backward pieces of the CNN step graph (chain-graph.ts), one per layer kind. Each
 * returns its output and a Backward that adds the gradient nodes when the backward pass reaches it.
 */

/** A 1×1 stride-1 Conv2D on NHWC pixels: [n·h·w, in] × the TF kernel as [in, out]; no layout changes at all. */
export function pointwiseConv(g: GraphBuilder, step: Extract<LayerStep, { kind: 'conv' }>, x: string, names: string[], trains: boolean, upd: Update): { h: string; back: Backward } {
  const [hIn, wIn, cin] = step.in as [number, number, number];
  const cout = step.out[2]!;
  const k = g.op('Reshape', [names[0]!, g.ints([cin, cout])]);
  const rows = g.op('Reshape', [x, g.ints([-1, cin])]);
  const args = [rows, k];
  if (step.useBias) args.push(names[1]!);
  const z = g.op('Reshape', [g.op('Gemm', args), g.ints([-1, hIn, wIn, cout])]);
  const h = activate(g, step.activation, z);
  const back: Backward = (dy, _fromLogits, needDx) => {
    const gz = g.op('Reshape', [activationGrad(g, step.activation, dy, z, h), g.ints([-1, cout])]);
    if (trains) {
      upd(0, g.op('Reshape', [g.op('Gemm', [rows, gz], { transA: 1 }), g.ints([1, 1, cin, cout])], undefined, 'dw'));
      if (step.useBias) upd(1, g.op('ReduceSum', [gz, g.ints([0])], { keepdims: 0 }, 'db'));
    }
    if (!needDx) return undefined;
    return g.op('Reshape', [g.op('Gemm', [gz, k], { transB: 1 }), g.ints([-1, hIn, wIn, cin])], undefined, 'dx');
  };
  return { h, back };
}

export function conv(g: GraphBuilder, step: Extract<LayerStep, { kind: 'conv' }>, x: string, names: string[], trains: boolean, upd: Update): { h: string; back: Backward } {
  const [kh, kw] = step.kernel;
  const [hIn, wIn, cin] = step.in as [number, number, number];
  const group = step.depthwise ? cin : 1;
  const pointwise = kh === 1 && kw === 1;
  // TF [kh, kw, in, out] → ONNX [out, in, kh, kw]; depthwise [kh, kw, c, 1] → [c, 1, kh, kw].
  const w = g.op('Transpose', [names[0]!], { perm: step.depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1] });
  const geometry = { strides: step.strides, pads: step.pads, group };
  const args = [x, w];
  if (step.useBias) args.push(names[1]!);
  const z = g.op('Conv', args, { ...geometry, kernel_shape: step.kernel });
  const h = activate(g, step.activation, z);
  const back: Backward = (dy, _fromLogits, needDx) => {
    const gz = activationGrad(g, step.activation, dy, z, h);
    if (trains) {
      // dW[k] = Σ x[i·s + k − pad] · dy[i]: a convolution of x with dy as the filter, dilated by the stride,
      // run over the batch as the channel axis; it can reach past the kernel (leftover rows), hence the Slice.
      const gzT = g.op('Transpose', [gz], { perm: [1, 0, 2, 3] });
      let xT = g.op('Transpose', [x], { perm: [1, 0, 2, 3] });
      if (step.depthwise) xT = g.op('Reshape', [xT, g.ints([1, -1, hIn, wIn])]);
      const full = g.op('Conv', [xT, gzT], { dilations: step.strides, pads: step.pads, group, strides: [1, 1] });
      const dw = pointwise && step.pads.every((p) => p === 0) && step.strides.every((st) => st === 1) ? full : g.op('Slice', [full, g.ints([0, 0]), g.ints([kh, kw]), g.ints([2, 3])]);
      // [in, out, kh, kw] → [kh, kw, in, out]; depthwise [1, c, kh, kw] → [kh, kw, c, 1].
      // (For 1×1 kernels both are plain reshapes: onnxruntime's Transpose copies element by element.)
      const dwTf = pointwise ? g.op('Reshape', [dw, g.ints(step.depthwise ? [1, 1, cin, 1] : [1, 1, cin, -1])], undefined, 'dw') : g.op('Transpose', [dw], { perm: step.depthwise ? [2, 3, 1, 0] : [2, 3, 0, 1] }, 'dw');
      upd(0, dwTf);
      if (step.useBias) upd(1, g.op('ReduceSum', [gz, g.ints([0, 2, 3])], { keepdims: 0 }, 'db'));
    }
    if (!needDx) return undefined;
    if (step.strides[0] === 1 && step.strides[1] === 1) {
      // Stride 1: dx is a plain convolution of dy with the spatially flipped, in/out-swapped kernel.
      // onnxruntime runs that through its GEMM and depthwise kernels; a grouped ConvTranspose loops
      // over groups and samples and was the slowest node of MobileNetV2's top.
      const swapped = step.depthwise ? w : pointwise ? g.op('Reshape', [names[0]!, g.ints([cin, -1, 1, 1])]) : g.op('Transpose', [names[0]!], { perm: [2, 3, 0, 1] });
      const flipped = pointwise ? swapped : g.op('Slice', [swapped, g.ints([-1, -1]), g.ints([-(2 ** 52), -(2 ** 52)]), g.ints([2, 3]), g.ints([-1, -1])]);
      const [pt, pl, pb, pr] = step.pads as [number, number, number, number];
      return g.op('Conv', [gz, flipped], { group, strides: [1, 1], pads: [kh - 1 - pt, kw - 1 - pl, kh - 1 - pb, kw - 1 - pr] }, 'dx');
    }
    return g.op('ConvTranspose', [gz, w], { ...geometry, output_padding: outputPadding(step.in, step.out, step.kernel, step.strides, step.pads) }, 'dx');
  };
  return { h, back };
}

/** ConvTranspose's output_padding that makes the input gradient exactly the input's size (TF leaves leftover rows unread). */
function outputPadding(inS: number[], outS: number[], kernel: number[], strides: number[], pads: number[]): number[] {
  return [0, 1].map((a) => inS[a]! + pads[a]! + pads[a + 2]! - ((outS[a]! - 1) * strides[a]! + kernel[a]!));
}

export function bn(g: GraphBuilder, step: Extract<LayerStep, { kind: 'bn' }>, layout: Layout, x: string, names: string[], i: number, training: boolean, trains: boolean, upd: Update): { h: string; back: Backward } {
  const axes = layout === 'nchw' ? [0, 2, 3] : layout === 'nhwc' ? [0, 1, 2] : [0];
  const c = step.in[step.in.length - 1]!;
  // Per-channel vectors broadcast along the last axis as they are; NCHW needs them as [1, c, 1, 1].
  const bc = (v: string): string => (layout === 'nchw' ? g.op('Reshape', [v, g.ints([1, c, 1, 1])]) : v);
  const [gamma, beta, movingMean, movingVar] = names.map(bc) as [string, string, string, string];
  const eps = g.scalar(step.epsilon);
  let invStd: string;
  let xhat: string;
  if (training) {
    // tf.moments: mean, then the mean of squared deviations (biased variance).
    const mean = g.op('ReduceMean', [x], { axes, keepdims: 1 });
    const d = g.op('Sub', [x, mean]);
    const variance = g.op('ReduceMean', [g.op('Mul', [d, d])], { axes, keepdims: 1 });
    invStd = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, eps])])]);
    xhat = g.op('Mul', [d, invStd]);
    // TF.js: moving −= (moving − batch value) × (1 − momentum).
    const decay = g.scalar(1 - step.momentum);
    const flat = (v: string): string => g.op('Reshape', [v, g.ints([c])]);
    g.output(g.op('Sub', [names[2]!, g.op('Mul', [g.op('Sub', [names[2]!, flat(mean)]), decay])]), `new_L${i}_2`, [c]);
    g.output(g.op('Sub', [names[3]!, g.op('Mul', [g.op('Sub', [names[3]!, flat(variance)]), decay])]), `new_L${i}_3`, [c]);
  } else {
    invStd = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [movingVar, eps])])]);
    xhat = g.op('Mul', [g.op('Sub', [x, movingMean]), invStd]);
  }
  const h = g.op('Add', [g.op('Mul', [xhat, gamma]), beta]);
  const back: Backward = (dy, _fromLogits, needDx) => {
    const dyXhat = trains || (needDx && training) ? g.op('Mul', [dy, xhat]) : '';
    if (trains) {
      upd(0, g.op('ReduceSum', [dyXhat, g.ints(axes)], { keepdims: 0 }, 'dgamma'));
      upd(1, g.op('ReduceSum', [dy, g.ints(axes)], { keepdims: 0 }, 'dbeta'));
    }
    if (!needDx) return undefined;
    // γ is per channel, so with dxhat = dy·γ the textbook invstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat))
    // becomes γ·invstd·(dy − mean(dy) − xhat·mean(dy·xhat)): fewer passes over the activations.
    const scale = g.op('Mul', [gamma, invStd]);
    if (!training) return g.op('Mul', [dy, scale], undefined, 'dx');
    const m1 = g.op('ReduceMean', [dy], { axes, keepdims: 1 });
    const m2 = g.op('ReduceMean', [dyXhat], { axes, keepdims: 1 });
    return g.op('Mul', [g.op('Sub', [g.op('Sub', [dy, m1]), g.op('Mul', [xhat, m2])]), scale], undefined, 'dx');
  };
  return { h, back };
}

/** Weightless layers: activations, rescaling, padding, pooling, flatten, dropout. */
export function plain(g: GraphBuilder, step: LayerStep, layout: Layout, x: string, maskInput: () => string): { h: string; back: Backward } {
  switch (step.kind) {
    case 'act': {
      if (step.activation === 'softmax') return { h: x, back: (dy) => dy }; // only ever last: the input is the logits
      const act = step.activation;
      const h = activate(g, act, x);
      return { h, back: (dy, fromLogits) => (fromLogits ? dy : activationGrad(g, act, dy, x, h)) };
    }
    case 'rescale': {
      const scale = g.scalar(step.scale);
      return { h: g.op('Add', [g.op('Mul', [x, scale]), g.scalar(step.offset)]), back: (dy) => g.op('Mul', [dy, scale]) };
    }
    case 'pad': {
      const [t, l, b, r] = step.pads as [number, number, number, number];
      const [hIn, wIn] = step.in as [number, number];
      const h = g.op('Pad', [x, g.ints([0, 0, t, l, 0, 0, b, r])]);
      return { h, back: (dy) => g.op('Slice', [dy, g.ints([t, l]), g.ints([t + hIn, l + wIn]), g.ints([2, 3])]) };
    }
    case 'pool': {
      const attrs = { kernel_shape: step.kernel, strides: step.strides, pads: step.pads };
      if (step.op === 'max') {
        const h = `maxpool_${g.graph.nodes.length}`;
        const indices = `${h}_indices`;
        g.graph.nodes.push({ op: 'MaxPool', inputs: [x], outputs: [h, indices], attrs });
        // Windows do not overlap (layer-chain checks), so each input position receives at most one gradient.
        return { h, back: (dy) => g.op('MaxUnpool', [dy, indices, g.op('Shape', [x])], attrs, 'dx') };
      }
      // TF averages over the window's real pixels only (padding not counted), but TF.js's AvgPoolGrad
      // divides by the whole window (cpu and wasm kernels alike): the reference gradient does too.
      const h = g.op('AveragePool', [x], { ...attrs, count_include_pad: 0 });
      const c = step.in[2]!;
      const ones = constant(g, [c, 1, ...step.kernel], new Array<number>(c * step.kernel[0] * step.kernel[1]).fill(1));
      const inverse = g.scalar(1 / (step.kernel[0] * step.kernel[1]));
      const back: Backward = (dy) =>
        g.op('ConvTranspose', [g.op('Mul', [dy, inverse]), ones], { strides: step.strides, pads: step.pads, group: c, output_padding: outputPadding(step.in, step.out, step.kernel, step.strides, step.pads) }, 'dx');
      return { h, back };
    }
    case 'gap': {
      const [hIn, wIn, c] = step.in as [number, number, number];
      const nchw = layout === 'nchw';
      const h = g.op('ReduceMean', [x], { axes: nchw ? [2, 3] : [1, 2], keepdims: 0 });
      const spread = constant(g, nchw ? [1, 1, hIn, wIn] : [1, hIn, wIn, 1], new Array<number>(hIn * wIn).fill(1 / (hIn * wIn)));
      return { h, back: (dy) => g.op('Mul', [g.op('Reshape', [dy, g.ints(nchw ? [-1, c, 1, 1] : [-1, 1, 1, c])]), spread], undefined, 'dx') };
    }
    case 'flatten': {
      // TF.js flattens NHWC rows, the layout this step asks for: a reshape both ways.
      const [hIn, wIn, c] = step.in as [number, number, number];
      const h = g.op('Reshape', [x, g.ints([-1, hIn * wIn * c])]);
      return { h, back: (dy) => g.op('Reshape', [dy, g.ints([-1, hIn, wIn, c])], undefined, 'dx') };
    }
    case 'dropout': {
      if (!drops(step)) return { h: x, back: (dy) => dy };
      // The mask comes in NHWC, as TF.js draws it.
      const raw = maskInput();
      const mask = layout === 'nchw' ? g.op('Transpose', [raw], { perm: [0, 3, 1, 2] }) : raw;
      return { h: g.op('Mul', [x, mask]), back: (dy) => g.op('Mul', [dy, mask]) };
    }
    default:
      throw new Error(`${step.kind} is not a weightless layer`);
  }
}

function constant(g: GraphBuilder, dims: number[], values: number[]): string {
  const name = `init_${g.graph.initializers.length}`;
  g.graph.initializers.push({ name, dims, data: Float32Array.from(values) });
  return name;
}
