import { GraftError, describeValue } from '../../errors.js';
import type { OnnxGraph, OnnxNode } from '../../engine/onnx/model-proto.js';
import { nodeLabel } from './node-read.js';

/**
 * The graph's nodes in an order where every node comes after the nodes whose outputs it reads
 * (Kahn's algorithm; ties keep file order). A cycle is refused naming a node on it and the cycle.
 * `label` names the model in the error.
 */
export function topoSort(graph: Pick<OnnxGraph, 'nodes'>, label = 'the ONNX graph'): OnnxNode[] {
  const { nodes } = graph;
  const producer = producers(nodes);
  const waiting = new Array<number>(nodes.length).fill(0);
  const readers: number[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    for (const input of new Set(n.inputs)) {
      const p = producer.get(input);
      if (p === undefined) continue;
      waiting[i]!++;
      readers[p]!.push(i);
    }
  });
  const order: OnnxNode[] = [];
  const ready = nodes.map((_, i) => i).filter((i) => waiting[i] === 0);
  // A queue by index keeps file order among nodes ready at the same time.
  for (let head = 0; head < ready.length; head++) {
    const i = ready[head]!;
    order.push(nodes[i]!);
    for (const j of readers[i]!) if (--waiting[j]! === 0) ready.push(j);
  }
  if (order.length === nodes.length) return order;
  const cycle = findCycle(nodes, producer, waiting);
  const names = cycle.map((i) => nodeLabel(nodes[i]!, i));
  throw new GraftError('MODEL_CORRUPT', `${label}: its graph has a cycle through ${names[0]} (${[...names, names[0]].join(' → ')}); an ONNX graph must be acyclic. The model is damaged.`);
}

/** Which node writes each value name (the first one, if several do). */
function producers(nodes: readonly OnnxNode[]): Map<string, number> {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.outputs) if (o !== '' && !producer.has(o)) producer.set(o, i);
  });
  return producer;
}

/**
 * Nodes left waiting after Kahn's algorithm are on a cycle or downstream of one. Walking from one
 * of them to a waiting producer of its inputs, again and again, must come back to a node already
 * visited: the walk from there on is the cycle.
 */
function findCycle(nodes: readonly OnnxNode[], producer: Map<string, number>, waiting: readonly number[]): number[] {
  let at = waiting.findIndex((w) => w > 0);
  const seenAt = new Map<number, number>();
  const path: number[] = [];
  while (!seenAt.has(at)) {
    seenAt.set(at, path.length);
    path.push(at);
    const next = nodes[at]!.inputs.map((i) => producer.get(i)).find((p) => p !== undefined && waiting[p]! > 0);
    at = next!;
  }
  // The walk goes from readers to producers; reversed, the cycle reads in data-flow order, and
  // rotated, it starts at its first node in the file.
  const cycle = path.slice(seenAt.get(at)).reverse();
  const first = cycle.indexOf(Math.min(...cycle));
  return [...cycle.slice(first), ...cycle.slice(0, first)];
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
