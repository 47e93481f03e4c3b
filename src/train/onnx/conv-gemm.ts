import type { OnnxGraph } from '../../engine/onnx/model-proto.js';
import { Emitter } from '../graph/emit.js';
import { inferFacts } from '../graph/facts.js';
import { topologicalOrder } from '../graph/order.js';
import { intAttr, intsAttr, stringAttr } from '../graph/attrs.js';
import { GEMM_MAX_POSITIONS, GEMM_WEIGHT_FLOATS, im2colRows } from './im2col.js';
import { inferShapes, type TensorFacts } from '../../io/onnx/shape-infer.js';

/**
 * The graph with its large-weight convolutions (group 1, 2-D, weight dims known, more than
 * GEMM_WEIGHT_FLOATS, at most GEMM_MAX_POSITIONS output positions per image) written as im2col +
 * Gemm: rows [N·H'·W', C·kh·kw] (im2col.ts) in the weight's own order, so the weight needs no
 * transpose; one Gemm (the bias its C) gives [N·H'·W', O], back to NCHW. The same sums in another order.
 */
export function gemmConvs(graph: OnnxGraph, opset: number): { graph: OnnxGraph; rewritten: number } {
  if (!graph.nodes.some((n) => n.op === 'Conv' && !n.domain)) return { graph, rewritten: 0 };
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
  for (const node of graph.nodes) {
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
    const product = e.op('Gemm', [rows, e.op('Reshape', [w, e.ints([o, c * kh * kw])]), ...(bias ? [bias] : [])], { transB: 1 });
    const outShape = e.op('Concat', [sizes, e.ints([o])], { axis: 0 });
    out.nodes.push({ op: 'Transpose', inputs: [e.op('Reshape', [product, outShape])], outputs: [node.outputs[0]!], attrs: { perm: [0, 3, 1, 2] } });
  }
  return { graph: out, rewritten };
}

