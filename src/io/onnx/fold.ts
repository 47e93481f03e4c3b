import type { OnnxGraph, OnnxNode, OnnxTensor, OnnxValue } from '../../engine/onnx/model-proto.js';
import { topoSort } from './graph-checks.js';
import { inferShapes } from './shape-infer.js';
import { isConstant, tensorAttr, valueTensor, writableType, type TensorFacts } from './tensor-facts.js';

/**
 * The graph made static for fixed input shapes: every Constant node becomes an initializer, and
 * every node whose outputs are known before run time (computed from initializers and known
 * dimensions: the Shape → Gather → Unsqueeze → Concat → Reshape chains of TorchScript exports, the
 * Shape/Expand/Where chains of dynamo ones) is evaluated here and replaced by initializers. What
 * depends on the batch size ('N' in `inputShapes`) stays a run-time computation, so the folded
 * graph still takes any batch. Nodes and initializers no output needs are dropped. Results are
 * unchanged: values are computed exactly as onnxruntime computes them (value-ops.ts).
 */
export function foldConstants(graph: OnnxGraph, inputShapes: Record<string, Array<number | 'N'>>): OnnxGraph {
  const facts = inferShapes(graph, inputShapes);
  const outputs = new Set(graph.outputs.map((v) => v.name));
  const initializers: OnnxTensor[] = [...graph.initializers];
  const kept: OnnxNode[] = [];
  for (const node of topoSort(graph)) {
    const folded = node.outputs.some((o) => outputs.has(o)) ? undefined : foldNode(node, facts);
    if (folded) initializers.push(...folded);
    else kept.push(node);
  }
  return prune({ ...graph, nodes: kept, initializers, inputs: graph.inputs.map((v) => fixInput(v, inputShapes[v.name])) });
}

/** A node's outputs as initializers, when all of them are known; undefined otherwise. */
function foldNode(node: OnnxNode, facts: Map<string, TensorFacts>): OnnxTensor[] | undefined {
  if (node.domain) return undefined;
  const outs = node.outputs.filter((o) => o !== '');
  if (node.op === 'Constant' && outs.length === 1) {
    // Any size: the tensor is already in the file, as an attribute.
    const t = tensorAttr(node, 'value');
    if (t) return [{ ...t, name: outs[0]! }];
  }
  const tensors: OnnxTensor[] = [];
  for (const name of outs) {
    const f = facts.get(name);
    if (!f || !isConstant(f.value) || !writableType(f.type)) return undefined;
    const dims = f.shape as number[];
    tensors.push(valueTensor(name, f.type, dims, f.value));
  }
  return tensors.length > 0 ? tensors : undefined;
}

/** The input's shape as given, its batch keeping the name the file gave it. */
function fixInput(v: OnnxValue, given: Array<number | 'N'> | undefined): OnnxValue {
  if (!given) return v;
  return { ...v, shape: given.map((d, i) => (d === 'N' ? (typeof v.shape?.[i] === 'string' ? v.shape[i]! : 'N') : d)) };
}

/** Drops nodes no graph output needs, then initializers (and initializer-inputs) nothing reads. */
export function prune(graph: OnnxGraph): OnnxGraph {
  const needed = new Set(graph.outputs.map((v) => v.name));
  const nodes: OnnxNode[] = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i]!;
    if (!n.outputs.some((o) => needed.has(o))) continue;
    nodes.push(n);
    for (const input of n.inputs) needed.add(input);
  }
  nodes.reverse();
  const initializers = graph.initializers.filter((t) => needed.has(t.name));
  const inits = new Set(graph.initializers.map((t) => t.name));
  const inputs = graph.inputs.filter((v) => !inits.has(v.name) || needed.has(v.name));
  const names = new Set([...needed, ...nodes.flatMap((n) => n.outputs)]);
  const out: OnnxGraph = { ...graph, nodes, initializers, inputs };
  if (graph.valueInfo) out.valueInfo = graph.valueInfo.filter((v) => names.has(v.name) && !inits.has(v.name));
  return out;
}
