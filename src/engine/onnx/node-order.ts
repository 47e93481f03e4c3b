import type { OnnxNode } from './model-proto.js';

/**
 * Nodes in dependency order, or the cycle that prevents one. Kahn's algorithm over node indices:
 * a node waits for the nodes writing the values it reads; ties keep file order, so an already
 * sorted file comes back unchanged. Values nobody writes (graph inputs, initializers, dangling
 * names) are not waited for: callers that care check them. The one sort behind the reader's
 * `topoSort` (io/onnx) and the autodiff's `topologicalOrder` (train/graph), which word errors
 * their own way.
 */
export function orderNodes(nodes: readonly OnnxNode[]): { order: number[]; cycle?: number[] } {
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
  const order = nodes.map((_, i) => i).filter((i) => waiting[i] === 0);
  // A queue by index keeps file order among nodes ready at the same time.
  for (let head = 0; head < order.length; head++) {
    for (const j of readers[order[head]!]!) if (--waiting[j]! === 0) order.push(j);
  }
  if (order.length === nodes.length) return { order };
  return { order, cycle: findCycle(nodes, producer, waiting) };
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
 * visited: the walk from there on is the cycle (indices, in data-flow order, starting at the node
 * that comes first in the file).
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
  const cycle = path.slice(seenAt.get(at)).reverse();
  const first = cycle.indexOf(Math.min(...cycle));
  return [...cycle.slice(first), ...cycle.slice(0, first)];
}
