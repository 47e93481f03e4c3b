import type { OnnxGraph, OnnxNode } from '../../engine/onnx/model-proto.js';
import { Emitter } from '../graph/emit.js';
import { inferFacts } from '../graph/facts.js';
import { topologicalOrder } from '../graph/order.js';
import { intAttr, intsAttr, stringAttr } from '../graph/attrs.js';
import { col2imImage, GEMM_MAX_POSITIONS, GEMM_WEIGHT_FLOATS, im2colRows, type Window2d } from './im2col.js';
import { inferShapes, type TensorFacts } from '../../io/onnx/shape-infer.js';
import { prune } from '../../io/onnx/fold.js';
import { batchedProduct } from '../graph/ops/conv-weight.js';

/**
 * The graph with its large-weight convolutions (group 1, 2-D, weight dims known, more than
 * GEMM_WEIGHT_FLOATS, at most GEMM_MAX_POSITIONS output positions per image) written as im2col +
 * Gemm: rows [N·H'·W', C·kh·kw] (im2col.ts) in the weight's own order, so the weight needs no
 * transpose; one Gemm (the bias its C) gives [N·H'·W', O], back to NCHW. Their input gradients
 * (a ConvTranspose, or at stride 1 a Conv with the weight transposed and flipped: ops/conv.ts) at
 * as few positions become the transposed product: dY rows [N·H'·W', O] · W [O, C·kh·kw], then
 * col2im (im2col.ts), so the weight is neither transposed nor flipped every step. Their weight
 * gradients read the forward's im2col rows instead of building them again (a one-hot Conv and a
 * transpose of its output). The same sums in another order.
 */
export function gemmConvs(graph: OnnxGraph, opset: number): { graph: OnnxGraph; rewritten: number; batched: number } {
  if (!graph.nodes.some((n) => (n.op === 'Conv' || n.op === 'ConvTranspose') && !n.domain)) return { graph, rewritten: 0, batched: 0 };
  const facts = inferFacts(graph, topologicalOrder(graph));
  // Output positions per image come from shape inference over the whole step graph; a Conv it
  // cannot size stays as it is.
  let shapes: Map<string, TensorFacts>;
  try {
    shapes = inferShapes(graph, {});
  } catch {
    shapes = new Map();
  }
  const out: OnnxGraph = { ...graph, nodes: [], initializers: [...graph.initializers] };
  const taken = new Set([...graph.inputs.map((i) => i.name), ...graph.initializers.map((t) => t.name), ...graph.nodes.flatMap((n) => n.outputs)]);
  const e = new Emitter(out, taken, opset);
  let rewritten = 0;
  const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  // The im2col rows of each forward Conv written as a GEMM, by its input and window: its weight gradient reuses them.
  const rowsOf = new Map<string, string>();
  let batched = 0;
  for (const node of graph.nodes) {
    const dw = oneHotWeightGradient(node, producer, facts, graph);
    const reused = dw && rowsOf.get(windowKey(dw.x, dw.window));
    if (reused) {
      // dW [O, C·kh·kw] = dY rows [O, N·H'·W'] · im2col rows [N·H'·W', C·kh·kw]: the forward's rows, not a one-hot Conv's.
      out.nodes.push({ ...node, inputs: [node.inputs[0]!, reused, ...node.inputs.slice(2)], attrs: { ...node.attrs, transB: 0 } });
      continue;
    }
    const [, , ch, cw] = (dw && shapes.get(dw.cols)?.shape) ?? [];
    if (dw?.dy && typeof ch === 'number' && typeof cw === 'number' && ch * cw > GEMM_MAX_POSITIONS) {
      // Many positions per image: a product per sample, summed over the batch, is faster than
      // transposing im2col's output to rows for one Gemm (bench/RESULTS.md: ResNet-18's 64 → 64
      // 3×3 at 16×16 9.6 → 7.3 ms, its 7×7 stem 12.0 → 8.8; at 4×4 the one Gemm wins, 4.0 against 5.7).
      batched++;
      out.nodes.push({ op: 'Reshape', inputs: [batchedProduct(e, dw.dy.name, dw.dy.rows, dw.cols, dw.rows), e.ints([dw.dy.rows, dw.rows])], outputs: [node.outputs[0]!] });
      continue;
    }
    const grad = inputGradient(node, producer, facts, shapes);
    if (grad) {
      rewritten++;
      const [o, c, kh, kw] = grad.wDims;
      const rows = e.op('Reshape', [e.op('Transpose', [grad.dy], { perm: [0, 2, 3, 1] }), e.ints([-1, o])]);
      const cols = e.op('Gemm', [rows, e.op('Reshape', [grad.w, e.ints([o, c * kh * kw])])]);
      const image = col2imImage(e, cols, c, grad.inSize, grad.outSize, grad.window);
      out.nodes.push({ op: 'Transpose', inputs: [image], outputs: [node.outputs[0]!], attrs: { perm: [0, 3, 1, 2] } });
      continue;
    }
    const dims = facts.dims(node.inputs[1] ?? '');
    const auto = stringAttr(node, 'auto_pad', 'NOTSET');
    if (node.op !== 'Conv' || node.domain || !dims || dims.length !== 4 || intAttr(node, 'group', 1) !== 1 || dims.reduce((a, b) => a * b, 1) <= GEMM_WEIGHT_FLOATS || (auto !== 'NOTSET' && auto !== 'VALID')) {
      out.nodes.push(node);
      continue;
    }
    const [o, c, kh, kw] = dims as [number, number, number, number];
    const pads = auto === 'VALID' ? [0, 0, 0, 0] : (intsAttr(node, 'pads') ?? [0, 0, 0, 0]);
    const window = { kernel: [kh, kw], strides: intsAttr(node, 'strides') ?? [1, 1], dilations: intsAttr(node, 'dilations') ?? [1, 1], pads };
    // Output positions per image, from the Conv's inferred output shape [N, O, H', W'].
    const [, , h, wd] = shapes.get(node.outputs[0]!)?.shape ?? [];
    if (typeof h !== 'number' || typeof wd !== 'number' || h * wd > GEMM_MAX_POSITIONS) {
      out.nodes.push(node);
      continue;
    }
    rewritten++;
    const [x, w, bias] = node.inputs as [string, string, string | undefined];
    const { rows, positions: sizes } = im2colRows(e, x, c, window);
    rowsOf.set(windowKey(x, window), rows);
    const product = e.op('Gemm', [rows, e.op('Reshape', [w, e.ints([o, c * kh * kw])]), ...(bias ? [bias] : [])], { transB: 1 });
    const outShape = e.op('Concat', [sizes, e.ints([o])], { axis: 0 });
    out.nodes.push({ op: 'Transpose', inputs: [e.op('Reshape', [product, outShape])], outputs: [node.outputs[0]!], attrs: { perm: [0, 3, 1, 2] } });
  }
  // The transposed and flipped weights and transposed im2col outputs nothing reads now go.
  return { graph: rewritten + batched > 0 ? prune(out) : graph, rewritten, batched };
}

const windowKey = (x: string, w: Window2d): string => JSON.stringify([x, w.kernel, w.strides, w.dilations, w.pads]);

/** A weight gradient in im2col form (ops/conv-weight.ts) as conv-gemm reads it. */
interface OneHotWeightGradient {
  /** The Conv's input X and window: the key of its forward's im2col rows. */
  x: string;
  window: Window2d;
  /** The one-hot Conv's output [N, C·taps, H', W'] and its C·taps. */
  cols: string;
  rows: number;
  /** dY [N, O, H', W'] and O, where the Gemm's first input is dY's rows as conv-weight writes them. */
  dy?: { name: string; rows: number };
}

/**
 * `node` as the Gemm of a weight gradient in im2col form: Gemm(dY rows, cols rows, transB) with
 * dY rows = Reshape(Transpose(dY, [1, 0, 2, 3]), [O, −1]) and cols rows =
 * Reshape(Transpose(Conv(X, one-hot kernels), [1, 0, 2, 3])); or undefined.
 */
function oneHotWeightGradient(node: OnnxNode, producer: Map<string, OnnxNode>, facts: ReturnType<typeof inferFacts>, graph: OnnxGraph): OneHotWeightGradient | undefined {
  if (node.op !== 'Gemm' || node.domain || node.inputs.length !== 2 || intAttr(node, 'transB', 0) !== 1 || intAttr(node, 'transA', 0) !== 0) return undefined;
  // The input of Reshape(Transpose(t, [1, 0, 2, 3])), or undefined.
  const swapped = (name: string): { t: string; shape: number[] | undefined } | undefined => {
    const reshape = producer.get(name);
    const transpose = reshape?.op === 'Reshape' ? producer.get(reshape.inputs[0]!) : undefined;
    return transpose?.op === 'Transpose' && intsAttr(transpose, 'perm')?.join() === '1,0,2,3' ? { t: transpose.inputs[0]!, shape: facts.ints(reshape!.inputs[1]!) } : undefined;
  };
  const colsIn = swapped(node.inputs[1]!);
  const cols = colsIn && producer.get(colsIn.t);
  if (!cols || cols.op !== 'Conv' || cols.domain || cols.inputs.length !== 2) return undefined;
  // One-hot kernels [C·taps, 1, kh, kw], group C: filter f is 1 at tap f mod taps.
  const dims = facts.dims(cols.inputs[1]!);
  const onehot = graph.initializers.find((t) => t.name === cols.inputs[1]);
  if (!dims || dims.length !== 4 || dims[1] !== 1 || !(onehot?.data instanceof Float32Array)) return undefined;
  const taps = dims[2]! * dims[3]!;
  if (dims[0]! !== intAttr(cols, 'group', 1) * taps || !onehot.data.every((v, i) => v === (i % taps === Math.floor(i / taps) % taps ? 1 : 0))) return undefined;
  const window = { kernel: dims.slice(2), strides: intsAttr(cols, 'strides') ?? [1, 1], dilations: intsAttr(cols, 'dilations') ?? [1, 1], pads: intsAttr(cols, 'pads') ?? [0, 0, 0, 0] };
  const dy = swapped(node.inputs[0]!);
  const o = dy?.shape?.length === 2 && dy.shape[1] === -1 ? dy.shape[0] : undefined;
  return { x: cols.inputs[0]!, window, cols: colsIn.t, rows: dims[0]!, ...(dy && o !== undefined && o > 0 ? { dy: { name: dy.t, rows: o } } : {}) };
}

/** An input gradient conv-gemm rewrites: dY [N, O, H', W'], the forward weight W [O, C, kh, kw], the window, and dX's size. */
interface InputGradient {
  dy: string;
  w: string;
  wDims: [number, number, number, number];
  window: Window2d;
  inSize: [number, number];
  outSize: [number, number];
}

/**
 * `node` as an input gradient of a large convolution at few positions: a ConvTranspose(dY, W)
 * (group 1, no bias or output padding), or a stride-1 Conv(dY, flip(Transpose(W))) as
 * ops/conv.ts writes it (1×1: Conv(dY, Transpose(W))), whose pads p' undo the forward pads
 * p = d·(k − 1) − p'.
 */
function inputGradient(node: OnnxNode, producer: Map<string, OnnxNode>, facts: ReturnType<typeof inferFacts>, shapes: Map<string, TensorFacts>): InputGradient | undefined {
  if (node.domain || intAttr(node, 'group', 1) !== 1 || stringAttr(node, 'auto_pad', 'NOTSET') !== 'NOTSET') return undefined;
  let w: string | undefined;
  let pads: number[];
  let strides = intsAttr(node, 'strides') ?? [1, 1];
  const dilations = intsAttr(node, 'dilations') ?? [1, 1];
  if (node.op === 'ConvTranspose') {
    if (node.inputs.length > 2 || intsAttr(node, 'output_shape') || (intsAttr(node, 'output_padding') ?? []).some((p) => p !== 0)) return undefined;
    w = node.inputs[1];
    pads = intsAttr(node, 'pads') ?? [0, 0, 0, 0];
  } else if (node.op === 'Conv' && node.inputs.length === 2 && strides.every((x) => x === 1)) {
    const flip = producer.get(node.inputs[1]!);
    const reversed = (name: string | undefined): boolean => (name ? facts.ints(name)?.every((x) => x === -1) === true : false);
    const flips = flip?.op === 'Slice' && reversed(flip.inputs[1]) && reversed(flip.inputs[4]) && facts.ints(flip.inputs[3] ?? '')?.join() === '2,3';
    // A 1×1 kernel has no flip (ops/conv.ts): the Transpose feeds the Conv itself.
    const swap = flips ? producer.get(flip.inputs[0]!) : flip;
    if (swap?.op !== 'Transpose' || intsAttr(swap, 'perm')?.join() !== '1,0,2,3') return undefined;
    w = swap.inputs[0];
    const dims = facts.dims(w ?? '');
    if (!dims || (!flips && (dims[2] !== 1 || dims[3] !== 1))) return undefined;
    const reach = [dilations[0]! * (dims[2]! - 1), dilations[1]! * (dims[3]! - 1)];
    pads = (intsAttr(node, 'pads') ?? [0, 0, 0, 0]).map((p, i) => reach[i % 2]! - p);
    strides = [1, 1];
  } else return undefined;
  const wDims = facts.dims(w ?? '');
  if (!w || !wDims || wDims.length !== 4 || wDims.reduce((a, b) => a * b, 1) <= GEMM_WEIGHT_FLOATS || pads.length !== 4 || strides.length !== 2 || dilations.length !== 2) return undefined;
  const [, , h1, w1] = shapes.get(node.inputs[0]!)?.shape ?? [];
  const [, , h, wd] = shapes.get(node.outputs[0]!)?.shape ?? [];
  if (typeof h1 !== 'number' || typeof w1 !== 'number' || typeof h !== 'number' || typeof wd !== 'number' || h1 * w1 > GEMM_MAX_POSITIONS) return undefined;
  return { dy: node.inputs[0]!, w, wDims: wDims as InputGradient['wDims'], window: { kernel: wDims.slice(2), strides, dilations, pads }, inSize: [h1, w1], outSize: [h, wd] };
}

