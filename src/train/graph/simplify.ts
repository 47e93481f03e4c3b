import type { OnnxGraph, OnnxNode, OnnxTensor } from '../../engine/onnx/model-proto.js';
import { intsAttr, stringAttr } from './attrs.js';

/**
 * A Clip whose lower bound is this initializer (a float32 0) stands for Clip(Relu(z), 0, hi):
 * its gradient passes 0 < z ≤ hi, as relu'(0) = 0 made the pair's (ops/activations.ts).
 */
export const RELU_FLOOR = 'graft.relu_floor';

/**
 * Rewrites that leave every value and gradient as they were but run fewer, cheaper ops on
 * onnxruntime, applied to a forward graph before the autodiff (bench/RESULTS.md, issue 17):
 *  - Clip(Relu(z), 0, hi) → Clip(z, RELU_FLOOR, hi): TF.js's capped ReLU (MobileNetV2's ReLU6)
 *    is written as the pair so nothing passes at z = 0; one Clip with that gradient saves a
 *    full-size forward op and three backward ones per activation.
 *  - Pad(x, zeros at the spatial ends) → Conv: the padding joins the Conv's own pads (Keras's
 *    ZeroPadding2D before a strided depthwise Conv), which saves the padded copy and its gradient's Slice.
 * A tensor that is a graph output or is read by anything else is left alone.
 */
export function simplifyForTraining(graph: OnnxGraph): OnnxGraph {
  return foldPadsIntoConvs(mergeReluIntoClip(graph));
}

/** The nodes that read each tensor, once per input slot (graph outputs are checked apart). */
function readers(graph: OnnxGraph): Map<string, OnnxNode[]> {
  const by = new Map<string, OnnxNode[]>();
  for (const n of graph.nodes) {
    for (const i of n.inputs) {
      if (!i) continue;
      const list = by.get(i);
      if (list) list.push(n);
      else by.set(i, [n]);
    }
  }
  return by;
}

function constant(graph: OnnxGraph, name: string | undefined): OnnxTensor | undefined {
  if (!name) return undefined;
  const init = graph.initializers.find((t) => t.name === name);
  if (init) return init;
  const node = graph.nodes.find((n) => n.op === 'Constant' && n.outputs[0] === name);
  const v = node?.attrs?.value;
  return v && typeof v === 'object' && 'tensor' in v ? v.tensor : undefined;
}

/** The float value of a one-element float32 constant, else undefined. */
function scalarValue(graph: OnnxGraph, name: string | undefined): number | undefined {
  const t = constant(graph, name);
  return t && t.data instanceof Float32Array && t.data.length === 1 ? t.data[0] : undefined;
}

export function mergeReluIntoClip(graph: OnnxGraph): OnnxGraph {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const readBy = readers(graph);
  const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const dropped = new Set<OnnxNode>();
  const replaced = new Map<OnnxNode, OnnxNode>();
  for (const clip of graph.nodes) {
    if (clip.op !== 'Clip' || clip.domain || clip.inputs.length < 2) continue;
    const relu = producer.get(clip.inputs[0]!);
    if (!relu || relu.op !== 'Relu' || relu.domain || outputs.has(relu.outputs[0]!) || readBy.get(relu.outputs[0]!)?.length !== 1) continue;
    const lo = clip.inputs[1] ? scalarValue(graph, clip.inputs[1]) : 0;
    // A negative or unknown floor lets Relu's cut matter; a positive one already excludes z ≤ 0.
    if (lo === undefined || lo < 0) continue;
    dropped.add(relu);
    replaced.set(clip, { ...clip, inputs: [relu.inputs[0]!, lo === 0 ? RELU_FLOOR : clip.inputs[1]!, ...clip.inputs.slice(2)] });
  }
  if (dropped.size === 0) return graph;
  const initializers = graph.initializers.some((t) => t.name === RELU_FLOOR) ? graph.initializers : [...graph.initializers, { name: RELU_FLOOR, dims: [], data: Float32Array.of(0) }];
  return { ...graph, initializers, nodes: graph.nodes.filter((n) => !dropped.has(n)).map((n) => replaced.get(n) ?? n) };
}

export function foldPadsIntoConvs(graph: OnnxGraph): OnnxGraph {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const readBy = readers(graph);
  const dropped = new Set<OnnxNode>();
  const replaced = new Map<OnnxNode, OnnxNode>();
  for (const pad of graph.nodes) {
    if (pad.op !== 'Pad' || pad.domain || outputs.has(pad.outputs[0]!)) continue;
    const pads = pad.inputs[1] ? constantInts(graph, pad.inputs[1]) : intsAttr(pad, 'pads');
    const value = pad.inputs[2] ? scalarValue(graph, pad.inputs[2]) : (pad.attrs?.value as { float: number } | undefined)?.float ?? 0;
    if (!pads || stringAttr(pad, 'mode', 'constant') !== 'constant' || value !== 0 || pad.inputs[3]) continue;
    const half = pads.length / 2;
    // Batch and channel axes unpadded, spatial pads non-negative (a negative pad crops).
    if (half < 3 || pads.some((p) => p < 0) || pads[0] !== 0 || pads[1] !== 0 || pads[half] !== 0 || pads[half + 1] !== 0) continue;
    const convs = readBy.get(pad.outputs[0]!) ?? [];
    if (convs.length === 0 || convs.some((c) => c.op !== 'Conv' || c.domain || c.inputs[0] !== pad.outputs[0] || c.inputs.indexOf(pad.outputs[0]!, 1) >= 0 || !['NOTSET', 'VALID'].includes(stringAttr(c, 'auto_pad', 'NOTSET')))) continue;
    const extra = [...pads.slice(2, half), ...pads.slice(half + 2)];
    dropped.add(pad);
    for (const c of convs) {
      const own = stringAttr(c, 'auto_pad', 'NOTSET') === 'VALID' ? undefined : intsAttr(c, 'pads');
      const sum = extra.map((p, i) => p + (own?.[i] ?? 0));
      const { auto_pad: _auto, ...attrs } = c.attrs ?? {};
      replaced.set(c, { ...(replaced.get(c) ?? c), inputs: [pad.inputs[0]!, ...c.inputs.slice(1)], attrs: { ...attrs, pads: sum } });
    }
  }
  if (dropped.size === 0) return graph;
  return { ...graph, nodes: graph.nodes.filter((n) => !dropped.has(n)).map((n) => replaced.get(n) ?? n) };
}

function constantInts(graph: OnnxGraph, name: string): number[] | undefined {
  const t = constant(graph, name);
  return t && t.data instanceof BigInt64Array ? Array.from(t.data, Number) : undefined;
}
