import type { OnnxGraph } from '../../engine/onnx/model-proto.js';
import { GraftError, describeValue } from '../../errors.js';
import { editDistance } from '../../suggest.js';
import { prune } from './fold.js';
import { topoSort } from './graph-checks.js';
import type { TensorFacts } from './tensor-facts.js';

/** A graph cut at one tensor: the prefix computing it, and its shape. */
export interface GraphCut {
  /** The nodes and initializers the tensor needs; its only output is that tensor. */
  graph: OnnxGraph;
  /** The tensor's name. */
  output: string;
  /** Its shape, the batch as 'N'. */
  shape: Array<number | 'N'>;
}

const CLASSIFIERS = new Set(['Gemm', 'MatMul']);

/**
 * Where transfer cuts by default: the input of the final classifier, the last Gemm/MatMul on the
 * path to the (first) output. What follows is the head, dropped as Keras' include_top=False does.
 */
export function defaultCut(graph: OnnxGraph): string {
  const needed = new Set(graph.outputs.slice(0, 1).map((v) => v.name));
  const order = topoSort(graph);
  const dynamic = dependsOnInputs(graph);
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    if (!n.outputs.some((o) => needed.has(o))) continue;
    const features = n.inputs.find((x) => dynamic.has(x));
    if (CLASSIFIERS.has(n.op) && !n.domain && features !== undefined) return features;
    for (const x of n.inputs) needed.add(x);
  }
  throw new GraftError('BAD_LAYER_REF', `The graph has no Gemm or MatMul on the path to its output ${describeValue(graph.outputs[0]?.name ?? '(none)')}, so there is no classifier to cut off (received ${graph.nodes.length} nodes). Name the tensor to cut at (\`graft inspect model.onnx\` lists them).`);
}

/**
 * The prefix of a graph that computes one tensor, named by the tensor or by a node (its first
 * output). `shapes` is `inferShapes` of the same graph. Refused: a name the graph does not have
 * (the closest names are listed), a tensor computed from constants alone, one of unknown shape.
 */
export function cutGraph(graph: OnnxGraph, nameOrNode: string, shapes: ReadonlyMap<string, TensorFacts>): GraphCut {
  const output = resolve(graph, nameOrNode);
  if (!dependsOnInputs(graph).has(output)) {
    throw new GraftError('BAD_LAYER_REF', `Cannot cut at ${describeValue(output)}: it is computed from constants alone, not from the model's input ${describeValue(graph.inputs.map((v) => v.name))}. Cut at a tensor the input flows to (\`graft inspect model.onnx\` lists them).`);
  }
  const facts = shapes.get(output);
  if (!facts?.shape || facts.shape.includes(null)) {
    throw new GraftError('SHAPE_MISMATCH', `Cannot cut at ${describeValue(output)}: its shape is not known before run time (received ${describeValue(facts?.shape ?? null)}); an op before it has no shape rule or a size depends on the data. Cut at an earlier tensor.`);
  }
  const shape = facts.shape as Array<number | 'N'>;
  const batchName = graph.inputs.map((v) => v.shape?.[0]).find((d): d is string => typeof d === 'string') ?? 'N';
  const prefix = prune({ ...graph, outputs: [{ name: output, type: facts.type, shape: shape.map((d) => (d === 'N' ? batchName : d)) }] });
  return { graph: prefix, output, shape };
}

/** The tensor a name stands for: a tensor, else a node's first output. */
function resolve(graph: OnnxGraph, name: string): string {
  const tensors = new Set([...graph.inputs.map((v) => v.name), ...graph.nodes.flatMap((n) => n.outputs.filter((o) => o !== ''))]);
  if (tensors.has(name)) return name;
  const node = graph.nodes.find((n) => n.name === name && n.outputs[0]);
  if (node) return node.outputs[0]!;
  const candidates = [...tensors, ...graph.nodes.flatMap((n) => (n.name ? [n.name] : []))];
  const closest = candidates
    .map((c) => ({ c, d: editDistance(name.toLowerCase(), c.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, 5)
    .map((x) => x.c);
  throw new GraftError('BAD_LAYER_REF', `${describeValue(name)} is no tensor or node of the graph (it has ${tensors.size} tensors and ${graph.nodes.length} nodes). Closest names: ${closest.map((c) => describeValue(c)).join(', ')}. \`graft inspect model.onnx\` lists them all.`);
}

/** The tensors whose value depends on a graph input (not on initializers and constants alone). */
function dependsOnInputs(graph: OnnxGraph): Set<string> {
  const inits = new Set(graph.initializers.map((t) => t.name));
  const dynamic = new Set(graph.inputs.filter((v) => !inits.has(v.name)).map((v) => v.name));
  for (const n of topoSort(graph)) if (n.inputs.some((x) => dynamic.has(x))) for (const o of n.outputs) dynamic.add(o);
  return dynamic;
}
