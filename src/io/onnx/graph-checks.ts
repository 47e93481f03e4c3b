import { GraftError, describeValue } from '../../errors.js';
import type { OnnxGraph, OnnxNode } from '../../engine/onnx/model-proto.js';
import { orderNodes } from '../../engine/onnx/node-order.js';
import { nodeLabel } from './node-read.js';

/**
 * The graph's nodes in an order where every node comes after the nodes whose outputs it reads
 * (ties keep file order; the shared sort in engine/onnx/node-order.ts). A cycle is refused naming
 * a node on it and the cycle. `label` names the model in the error.
 */
export function topoSort(graph: Pick<OnnxGraph, 'nodes'>, label = 'the ONNX graph'): OnnxNode[] {
  const { nodes } = graph;
  const { order, cycle } = orderNodes(nodes);
  if (!cycle) return order.map((i) => nodes[i]!);
  const names = cycle.map((i) => nodeLabel(nodes[i]!, i));
  throw new GraftError('MODEL_CORRUPT', `${label}: its graph has a cycle through ${names[0]} (${[...names, names[0]].join(' → ')}); an ONNX graph must be acyclic. The model is damaged.`);
}

/**
 * Checks what a reader needs before it trusts a graph: every value is written once (graph inputs,
 * initializers and node outputs share one namespace), every node input and graph output exists,
 * and there is no cycle. `label` names the model in errors.
 */
export function checkGraph(graph: OnnxGraph, label: string): void {
  const bad = (problem: string): GraftError => new GraftError('MODEL_CORRUPT', `${label}: ${problem}. The model is damaged or was written by a tool graft does not support.`);
  const initializers = new Set<string>();
  for (const t of graph.initializers) {
    if (initializers.has(t.name)) throw bad(`initializer ${describeValue(t.name)} appears twice`);
    initializers.add(t.name);
  }
  // Before IR version 4 initializers were listed as graph inputs too; that is one value, not two.
  const defined = new Map<string, string>();
  for (const t of graph.initializers) defined.set(t.name, `initializer ${describeValue(t.name)}`);
  for (const v of graph.inputs) {
    if (defined.has(v.name) && !initializers.has(v.name)) throw bad(`graph input ${describeValue(v.name)} is listed twice`);
    defined.set(v.name, `graph input ${describeValue(v.name)}`);
  }
  graph.nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (o === '') continue;
      const before = defined.get(o);
      if (before) throw bad(`${nodeLabel(n, i)} writes ${describeValue(o)}, which ${before.startsWith('node') ? `${before} already writes` : `is already ${before}`}; each value is written once`);
      defined.set(o, nodeLabel(n, i));
    }
  });
  graph.nodes.forEach((n, i) => {
    // An empty name is an optional input left out.
    for (const input of n.inputs) if (input !== '' && !defined.has(input)) throw bad(`${nodeLabel(n, i)} reads ${describeValue(input)}, which no node, initializer or graph input provides`);
  });
  const outputs = new Set<string>();
  for (const v of graph.outputs) {
    if (outputs.has(v.name)) throw bad(`graph output ${describeValue(v.name)} is listed twice`);
    outputs.add(v.name);
    if (!defined.has(v.name)) throw bad(`graph output ${describeValue(v.name)} is not computed by any node`);
  }
  topoSort(graph, label);
}
