import type { OrtModule } from '../../engine/onnx/runtime.js';
import { encodeOnnxModel, FLOAT, type OnnxGraph, type OnnxNode } from '../../engine/onnx/model-proto.js';
import { floatAttr, stringAttr } from '../graph/attrs.js';
import { topologicalOrder } from '../graph/order.js';

/**
 * Ops that only move a tensor's elements, or pad it with zeros: a chain of them from one weight is
 * an index map into that weight. The alias ops change no element's place.
 */
const MOVES = new Set(['Transpose', 'Reshape', 'Slice', 'Pad', 'Squeeze', 'Unsqueeze', 'Identity', 'Flatten', 'Expand']);
const ALIASES = new Set(['Reshape', 'Squeeze', 'Unsqueeze', 'Identity', 'Flatten']);

/** Indices go through onnxruntime as float32 values, exact up to 2^24. */
const MAX_SOURCE_FLOATS = 2 ** 24;

/** A weight rearranged outside the graph: the graph input `name` is `source` gathered by `index` (−1: a zero). */
export interface WeightView {
  name: string;
  source: string;
  dims: number[];
  index: Int32Array;
}

/**
 * The step graph with each weight's rearrangements (the channel-blocked layouts nchwc.ts writes,
 * the flipped kernels of input gradients, zero padding to whole blocks) taken out and made graph
 * inputs, filled by gathering the weight before every run (gatherView). Why: onnxruntime ran
 * those Transposes, Slices and Pads at 3–8 ns a float, every step, on values that change only with
 * the weights (bench/RESULTS.md: about 10 ms of a ResNet-18 step); a gather by a precomputed
 * index takes about 1. Only chains of MOVES from a single variable, with constant shapes, pads and
 * zero fill, and at least one op that moves elements, become views; the index of each is found by
 * running the chain once on the values 1…n.
 */
export async function weightViews(ort: OrtModule, graph: OnnxGraph, variables: ReadonlySet<string>, opsets: Array<{ domain: string; version: number }>, irVersion: number): Promise<{ graph: OnnxGraph; views: WeightView[] }> {
  const none = { graph, views: [] };
  const inputs = new Map(graph.inputs.map((i) => [i.name, i]));
  const sourceDims = (name: string): number[] | undefined => {
    const shape = inputs.get(name)?.shape;
    return variables.has(name) && shape?.every((d): d is number => typeof d === 'number') && shape.reduce((a, b) => a * b, 1) <= MAX_SOURCE_FLOATS ? shape : undefined;
  };
  const initializers = new Map(graph.initializers.map((t) => [t.name, t]));
  const constants = new Set(initializers.keys());
  for (const n of graph.nodes) if (n.op === 'Constant' && !n.domain) constants.add(n.outputs[0]!);
  // Per derived tensor: its weight, and whether the chain to it moves elements.
  const derived = new Map<string, { source: string; moved: boolean; node: OnnxNode }>();
  const order = topologicalOrder(graph);
  for (const node of order) {
    if (!MOVES.has(node.op) || node.domain || node.outputs.length !== 1 || !zeroFill(node, initializers)) continue;
    const [data, ...rest] = node.inputs;
    if (!data || !rest.every((r) => r === '' || constants.has(r))) continue;
    const from = derived.get(data) ?? (sourceDims(data) ? { source: data, moved: false } : undefined);
    if (from) derived.set(node.outputs[0]!, { source: from.source, moved: from.moved || !ALIASES.has(node.op), node });
  }
  // The views: derived tensors that moved elements and are read by a node outside the chains (or are outputs).
  const readers = new Map<string, OnnxNode[]>();
  for (const n of graph.nodes) for (const i of n.inputs) (readers.get(i) ?? readers.set(i, []).get(i)!).push(n);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const inChain = new Set([...derived.values()].map((d) => d.node));
  const frontier = [...derived.entries()].filter(([t, d]) => d.moved && (outputs.has(t) || (readers.get(t) ?? []).some((r) => !inChain.has(r)))).map(([t]) => t);
  if (frontier.length === 0) return none;
  // What the graph still computes from the chains: tensors read outside them that are not views (alias chains).
  const viewed = new Set(frontier);
  const kept = new Set<OnnxNode>();
  const keep = (t: string): void => {
    const d = derived.get(t);
    if (!d || viewed.has(t) || kept.has(d.node)) return;
    kept.add(d.node);
    keep(d.node.inputs[0]!);
  };
  for (const n of graph.nodes) if (!inChain.has(n)) for (const i of n.inputs) keep(i);
  for (const o of outputs) keep(o);
  const index = await indexMaps(ort, graph, order, derived, frontier, opsets, irVersion, sourceDims);
  if (!index) return none;
  const views = frontier.map((name, i) => ({ name, source: derived.get(name)!.source, ...index[i]! }));
  return {
    graph: {
      ...graph,
      nodes: graph.nodes.filter((n) => !inChain.has(n) || kept.has(n)),
      inputs: [...graph.inputs, ...views.map((v) => ({ name: v.name, type: FLOAT, shape: v.dims }))],
    },
    views,
  };
}

/** A Pad that fills with zeros (constant mode, no value or a constant 0); every other op passes. */
function zeroFill(node: OnnxNode, initializers: ReadonlyMap<string, OnnxGraph['initializers'][number]>): boolean {
  if (node.op !== 'Pad') return true;
  if (stringAttr(node, 'mode', 'constant') !== 'constant' || floatAttr(node, 'value', 0) !== 0) return false;
  const value = node.inputs[2];
  if (!value) return true;
  const t = initializers.get(value);
  return t !== undefined && t.data.length === 1 && Number(t.data[0]) === 0;
}

/**
 * Each view's dims and index, from one run of the chains on their weights holding 1…n (a zero pad
 * stays 0, so index = value − 1). Undefined when onnxruntime cannot run them.
 */
async function indexMaps(
  ort: OrtModule,
  graph: OnnxGraph,
  order: OnnxNode[],
  derived: Map<string, { source: string; node: OnnxNode }>,
  frontier: string[],
  opsets: Array<{ domain: string; version: number }>,
  irVersion: number,
  sourceDims: (name: string) => number[] | undefined,
): Promise<Array<{ dims: number[]; index: Int32Array }> | undefined> {
  const needed = new Set<OnnxNode>();
  const need = (t: string): void => {
    const d = derived.get(t);
    if (!d || needed.has(d.node)) return;
    needed.add(d.node);
    need(d.node.inputs[0]!);
  };
  frontier.forEach(need);
  const nodes = order.filter((n) => needed.has(n));
  const read = new Set(nodes.flatMap((n) => n.inputs));
  const sources = [...new Set(frontier.map((t) => derived.get(t)!.source))];
  const constantNodes = graph.nodes.filter((n) => n.op === 'Constant' && !n.domain && read.has(n.outputs[0]!));
  const chains: OnnxGraph = {
    nodes: [...constantNodes, ...nodes],
    inputs: sources.map((s) => ({ name: s, type: FLOAT, shape: sourceDims(s)! })),
    outputs: frontier.map((t) => ({ name: t, type: FLOAT })),
    initializers: graph.initializers.filter((t) => read.has(t.name)),
  };
  try {
    const session = await ort.InferenceSession.create(encodeOnnxModel({ irVersion, producerName: 'graft', opsets, graphName: 'graft_weight_views', graph: chains }), { logSeverityLevel: 3 });
    try {
      const feeds = Object.fromEntries(sources.map((s) => {
        const dims = sourceDims(s)!;
        return [s, new ort.Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => i + 1), dims)];
      }));
      const out = await session.run(feeds);
      return frontier.map((t) => {
        const v = out[t]!;
        return { dims: v.dims.map(Number), index: Int32Array.from(v.data as Float32Array, (x) => x - 1) };
      });
    } finally {
      void session.release();
    }
  } catch {
    return undefined;
  }
}

/** `out` = `source` gathered by `index`, zero where the index is −1. */
export function gatherView(source: Float32Array, index: Int32Array, out: Float32Array): void {
  for (let j = 0; j < index.length; j++) {
    const k = index[j]!;
    out[j] = k < 0 ? 0 : source[k]!;
  }
}

let wanted = true;

/**
 * Whether sessions compiled from now on gather weight views (on by default). Off, the step graph
 * rearranges the weights itself, as before: the tests compare the two, and `bench/step-time.mjs
 * --no-weight-views` times them.
 */
export function useWeightViews(on: boolean): void {
  wanted = on;
}

export function weightViewsWanted(): boolean {
  return wanted;
}
