import type { OnnxGraph, OnnxNode } from '../../engine/onnx/model-proto.js';
import { GraftError } from '../../errors.js';
import { describeNode } from './attrs.js';

/**
 * The graph's nodes in an order where every tensor is produced before it is read (Kahn's
 * algorithm). ONNX requires files to be sorted already; sorting anyway costs little and makes a
 * cycle or a tensor nobody produces a clear error instead of a wrong gradient.
 */
export function topologicalOrder(graph: OnnxGraph): OnnxNode[] {
  const available = new Set<string>(['', ...graph.inputs.map((v) => v.name), ...graph.initializers.map((t) => t.name)]);
  const producer = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.outputs.forEach((o) => o && producer.set(o, i)));
  const waiting = graph.nodes.map((n) => new Set(n.inputs.filter((i) => !available.has(i))));
  for (const [i, w] of waiting.entries()) {
    for (const name of w) {
      if (!producer.has(name)) {
        throw new GraftError('MODEL_CORRUPT', `The ${describeNode(graph.nodes[i]!)} reads ${JSON.stringify(name)}, which no node, input or initializer provides (received a graph of ${graph.nodes.length} nodes). Check the model file is complete.`);
      }
    }
  }
  const readers = new Map<string, number[]>();
  waiting.forEach((w, i) => w.forEach((name) => readers.set(name, [...(readers.get(name) ?? []), i])));
  const ready = waiting.flatMap((w, i) => (w.size === 0 ? [i] : []));
  const out: OnnxNode[] = [];
  for (let k = 0; k < ready.length; k++) {
    const i = ready[k]!;
    out.push(graph.nodes[i]!);
    for (const o of graph.nodes[i]!.outputs) {
      for (const r of readers.get(o) ?? []) {
        const w = waiting[r]!;
        w.delete(o);
        if (w.size === 0) ready.push(r);
      }
      readers.delete(o);
    }
  }
  if (out.length < graph.nodes.length) {
    const stuck = graph.nodes.find((n) => !out.includes(n))!;
    throw new GraftError('MODEL_CORRUPT', `The graph has a cycle: the ${describeNode(stuck)} depends on its own output (received ${graph.nodes.length - out.length} nodes in cycles). An ONNX graph must be acyclic; re-export the model.`);
  }
  return out;
}
