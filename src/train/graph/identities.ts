import type { OnnxGraph, OnnxNode } from '../../engine/onnx/model-proto.js';

/**
 * The graph without its Identity copies (the autodiff's `grad.NAME` and GraphBuilder.output's
 * one per output: 3 per weight with Adam). An Identity whose output is not a graph output is
 * dropped and its readers read its input; one that names a graph output is dropped by renaming the
 * tensor it copies to the output's name, when a node of this graph produces that tensor and no
 * other output claims it. Left alone: copies of graph inputs and initializers (an output must be
 * a node's), and a second output of one tensor. onnxruntime ran every one of them as a copy
 * (ResNet-18 with Adam: 125 Identity nodes, ≈30 ms of a ≈600 ms step; bench/RESULTS.md).
 */
export function dropIdentities(graph: OnnxGraph): OnnxGraph {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const external = new Set([...graph.inputs.map((i) => i.name), ...graph.initializers.map((t) => t.name)]);
  const produced = new Set(graph.nodes.flatMap((n) => n.outputs));
  // Readers of a dropped copy read what it copied (chains followed to their source).
  const alias = new Map<string, string>();
  const source = (t: string): string => {
    let s = t;
    while (alias.has(s)) s = alias.get(s)!;
    return s;
  };
  const dropped = new Set<OnnxNode>();
  for (const n of graph.nodes) {
    if (n.op !== 'Identity' || n.domain || outputs.has(n.outputs[0]!)) continue;
    alias.set(n.outputs[0]!, n.inputs[0]!);
    dropped.add(n);
  }
  // The tensors renamed to the output that copied them.
  const renamed = new Map<string, string>();
  for (const n of graph.nodes) {
    if (n.op !== 'Identity' || n.domain || dropped.has(n)) continue;
    const from = source(n.inputs[0]!);
    if (external.has(from) || outputs.has(from) || renamed.has(from) || !produced.has(from)) continue;
    renamed.set(from, n.outputs[0]!);
    dropped.add(n);
  }
  const name = (t: string): string => {
    const s = source(t);
    return renamed.get(s) ?? s;
  };
  const nodes = graph.nodes.filter((n) => !dropped.has(n)).map((n) => ({ ...n, inputs: n.inputs.map((i) => (i === '' ? i : name(i))), outputs: n.outputs.map((o) => renamed.get(o) ?? o) }));
  return { ...graph, nodes };
}
