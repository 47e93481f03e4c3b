import type { OnnxGraph } from '../../engine/onnx/model-proto.js';
import { inferShapes, type TensorFacts } from '../../io/onnx/shape-infer.js';

/**
 * The step graph with the gradient outputs `dims` names (fetched into the update kernel's memory,
 * update-kernel.ts) written by the node that computes them, without the Reshapes to the weight's
 * dims after it: onnxruntime writes a fetched output's producer straight into the caller's buffer,
 * but a Reshape there copies (1.7 ms for each of ResNet-18's 512 × 4608 weight gradients). The
 * bytes are the same; the fetch takes the producer's shape, returned per output. A gradient keeps
 * its Reshape where its producer's shape is unknown or its input is read elsewhere.
 */
export function directGradientOutputs(graph: OnnxGraph, dims: ReadonlyMap<string, readonly number[]>): { graph: OnnxGraph; shapes: Map<string, number[]> } {
  const shapes = new Map<string, number[]>();
  // A weight's gradient has the same shape at both batch sizes.
  const facts = atTwoBatches(graph);
  if (!facts) return { graph, shapes };
  const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const reads = new Map<string, number>();
  for (const name of [...graph.nodes.flatMap((n) => n.inputs), ...graph.outputs.map((o) => o.name)]) reads.set(name, (reads.get(name) ?? 0) + 1);
  const dropped = new Set<object>();
  const renamed = new Map<string, string>();
  for (const [output, want] of dims) {
    const count = want.reduce((a, b) => a * b, 1);
    let source = output;
    for (let p = producer.get(source); p?.op === 'Reshape' && reads.get(p.inputs[0]!) === 1 && producer.has(p.inputs[0]!); p = producer.get(source)) source = p.inputs[0]!;
    const [shape, again] = facts.map((f) => (source === output ? undefined : sized(f.get(source)?.shape, count)));
    if (!shape || again?.join() !== shape.join()) continue;
    for (let p = producer.get(output)!; p.outputs[0] !== source; p = producer.get(p.inputs[0]!)!) dropped.add(p);
    renamed.set(source, output);
    shapes.set(output, shape);
  }
  if (shapes.size === 0) return { graph, shapes };
  const nodes = graph.nodes.filter((n) => !dropped.has(n)).map((n) => (n.outputs.some((o) => renamed.has(o)) ? { ...n, outputs: n.outputs.map((o) => renamed.get(o) ?? o) } : n));
  const outputs = graph.outputs.map((o) => (shapes.has(o.name) ? { ...o, shape: shapes.get(o.name)! } : o));
  return { graph: { ...graph, nodes, outputs }, shapes };
}

/**
 * The graph's shapes with its symbolic input dims (the batch) set to 2, and to 3; undefined where
 * inference fails. A concrete batch settles the sizes that sums over it compute at run time (Shape,
 * Expand, Reshape); what is the same at both does not depend on it.
 */
export function atTwoBatches(graph: OnnxGraph): [Map<string, TensorFacts>, Map<string, TensorFacts>] | undefined {
  const at = (n: number): Map<string, TensorFacts> => inferShapes(graph, Object.fromEntries(graph.inputs.filter((i) => i.shape?.some((d) => typeof d !== 'number')).map((i) => [i.name, i.shape!.map((d) => (typeof d === 'number' ? d : n))])));
  try {
    return [at(2), at(3)];
  } catch {
    return undefined;
  }
}

/** `shape` with `count` elements: at most one unknown dim, which the count fixes; else undefined. */
function sized(shape: ReadonlyArray<number | string | null> | null | undefined, count: number): number[] | undefined {
  if (!shape) return undefined;
  const known = shape.filter((d): d is number => typeof d === 'number');
  const product = known.reduce((a, b) => a * b, 1);
  if (known.length === shape.length) return product === count ? [...known] : undefined;
  if (known.length !== shape.length - 1 || product === 0 || count % product !== 0) return undefined;
  return shape.map((d) => (typeof d === 'number' ? d : count / product));
}
