import type { OnnxGraph, OnnxNode } from '../../engine/onnx/model-proto.js';
import { orderNodes } from '../../engine/onnx/node-order.js';
import { GraftError } from '../../errors.js';
import { describeNode } from './attrs.js';

/**
 * The graph's nodes in an order where every tensor is produced before it is read (the shared sort
 * in engine/onnx/node-order.ts). ONNX requires files to be sorted already; sorting anyway costs
 * little and makes a cycle or a tensor nobody produces a clear error instead of a wrong gradient.
 */
export function topologicalOrder(graph: OnnxGraph): OnnxNode[] {
  const available = new Set<string>(['', ...graph.inputs.map((v) => v.name), ...graph.initializers.map((t) => t.name)]);
  for (const n of graph.nodes) for (const o of n.outputs) available.add(o);
  for (const n of graph.nodes) {
    const name = n.inputs.find((i) => !available.has(i));
    if (name !== undefined) {
      throw new GraftError('MODEL_CORRUPT', `The ${describeNode(n)} reads ${JSON.stringify(name)}, which no node, input or initializer provides (received a graph of ${graph.nodes.length} nodes). Check the model file is complete.`);
    }
  }
  const { order, cycle } = orderNodes(graph.nodes);
  if (cycle) {
    const stuck = graph.nodes[cycle[0]!]!;
    throw new GraftError('MODEL_CORRUPT', `The graph has a cycle: the ${describeNode(stuck)} depends on its own output (received ${graph.nodes.length - order.length} nodes in cycles). An ONNX graph must be acyclic; re-export the model.`);
  }
  return order.map((i) => graph.nodes[i]!);
}
