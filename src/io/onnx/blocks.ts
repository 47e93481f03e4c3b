import type { OnnxGraph, OnnxNode } from '../../engine/onnx/model-proto.js';
import { GraftError, describeValue } from '../../errors.js';
import { topoSort } from './graph-checks.js';
import { blockKey, modulePath, stripWrapper } from './module-paths.js';
import { inferShapes } from './shape-infer.js';
import type { Dim, TensorFacts } from './tensor-facts.js';

/** One segment of a graph: a run of nodes that reads one tensor and writes one. */
export interface ModuleBlock {
  /** The PyTorch module path(s) it holds (`layer1`, `features.3`, `encoder.layer.0`); `a+b` when merged; `stem` for the leading layers. */
  name: string;
  nodes: OnnxNode[];
  /** The one tensor it reads that another block (or the graph input) writes. */
  input: string;
  /** The one tensor later blocks (or the graph output) read from it. */
  output: string;
  /** The initializers its nodes read. */
  initializers: string[];
}

/** Options of `moduleBlocks`. */
export interface ModuleBlocksOptions {
  /**
   * The graph's opset. From 15 on, a block that needs the batch size (a BERT attention mask) reads
   * it from its own input with `Shape(start, end)` rather than receiving a second tensor; below
   * that such blocks are merged. Default 17.
   */
  opset?: number;
}

/**
 * The graph in ordered blocks, one per top-level PyTorch module (module-paths.ts reads them from
 * node names, or from parameter names where the exporter names nodes by op), merged until exactly
 * one tensor crosses each boundary: running the blocks one after another computes the graph.
 * Consecutive single layers (ResNet's conv1, bn1, relu, maxpool) form one block, `stem` at the
 * start. Nodes computed from constants alone are copied into every block that reads them; small
 * tensors computed from the batch size alone are recomputed in each block that reads them.
 * The graph needs one data input and one output; its input shape is read from the graph.
 */
export function moduleBlocks(graph: OnnxGraph, options: ModuleBlocksOptions = {}): ModuleBlock[] {
  const inits = new Set(graph.initializers.map((t) => t.name));
  const dataInputs = graph.inputs.filter((v) => !inits.has(v.name));
  if (dataInputs.length !== 1 || graph.outputs.length !== 1) {
    throw new GraftError('BAD_ARGUMENT', `moduleBlocks splits graphs with one data input and one output; received inputs ${describeValue(dataInputs.map((v) => v.name))} and outputs ${describeValue(graph.outputs.map((v) => v.name))}. Cut the graph first (cutGraph).`);
  }
  const input = dataInputs[0]!.name;
  const output = graph.outputs[0]!.name;
  const facts = inferShapes(graph, {});
  const order = topoSort(graph);
  const producer = new Map<string, OnnxNode>();
  for (const n of order) for (const o of n.outputs) producer.set(o, n);

  // Which tensors the data flows to; of the rest, which are constants and which the batch size alone.
  const dynamic = new Set([input]);
  const batchOnly = new Set<string>();
  for (const n of order) {
    const reads = n.inputs.filter((x) => x !== '');
    if (n.op === 'Shape' && shapeValue(facts.get(n.outputs[0]!)) && reads.some((x) => dynamic.has(x) || batchOnly.has(x))) n.outputs.forEach((o) => batchOnly.add(o));
    else if (reads.some((x) => dynamic.has(x) && !batchOnly.has(x))) n.outputs.forEach((o) => dynamic.add(o));
    else if (reads.some((x) => batchOnly.has(x))) n.outputs.forEach((o) => batchOnly.add(o));
  }
  const main = order.filter((n) => n.outputs.some((o) => dynamic.has(o) && !batchOnly.has(o)));

  // Groups: nodes of one block key in a row; consecutive single layers (conv1, relu, maxpool) are
  // one group. Nodes with no module path (dynamo's Reshape, Flatten, pooling) belong to none.
  const paths = stripWrapper(main.map((n) => modulePath(n, inits)));
  const rawKeys = paths.map((p) => (p ? blockKey(p) : undefined));
  // A node directly under a list container (`/features/Mul` beside features.0…) names no block.
  const keys = rawKeys.map((k) => (k !== undefined && rawKeys.some((o) => o?.startsWith(`${k}.`)) ? undefined : k));
  const leaf = paths.map((p) => p !== undefined && p.length <= 1);
  const named = main.map((_, i) => i).filter((i) => keys[i] !== undefined);
  const groupNames = new Map<number, string[]>();
  const groupOf = new Map<number, number>();
  named.forEach((i, k) => {
    const prev = named[k - 1];
    const same = prev !== undefined && (keys[i] === keys[prev] || (leaf[i] && leaf[prev]));
    const g = same ? groupOf.get(prev)! : i;
    groupOf.set(i, g);
    const list = groupNames.get(g) ?? [];
    if (!list.includes(keys[i]!)) list.push(keys[i]!);
    groupNames.set(g, list);
  });

  // A boundary can stand before node i when exactly one data tensor crosses it (and every block
  // after it can rebuild the batch-size tensors it reads from its own input, checked below).
  const position = new Map(main.map((n, i) => [n, i]));
  const lastRead = new Map<string, number>();
  main.forEach((n, i) => n.inputs.forEach((x) => lastRead.set(x, i)));
  lastRead.set(output, main.length);
  const crossing = (at: number): string[] => {
    const out: string[] = [];
    const before = [input, ...main.slice(0, at).flatMap((n) => n.outputs)];
    for (const t of before) if (dynamic.has(t) && !batchOnly.has(t) && (lastRead.get(t) ?? -1) >= at) out.push(t);
    return out;
  };
  const opset = options.opset ?? 17;
  const valid = (at: number, to: number): boolean => {
    const c = crossing(at);
    return c.length === 1 && rebuildBatchTensors(main.slice(at, to), c[0]!, facts, producer, batchOnly, position, at, opset) !== undefined;
  };
  // Between two groups, one boundary: the last possible one before a group of modules (path-less
  // nodes after a single layer stay with it: ResNet's relu and maxpool after conv1), the first
  // one before a single layer (pooling and flatten before fc stay with the pool).
  const starts: number[] = [0];
  named.forEach((j, k) => {
    const i = named[k - 1];
    if (i === undefined || groupOf.get(i) === groupOf.get(j)) return;
    const end = named.find((x) => x > j && groupOf.get(x) !== groupOf.get(j)) ?? main.length;
    const candidates = Array.from({ length: j - i }, (_, d) => i + 1 + d).filter((at) => valid(at, end));
    // Path-less nodes that keep their input's shape (the Add and Relu ending a residual block)
    // finish the group before them.
    let attached = i + 1;
    while (attached < j && keepsShape(main[attached]!, facts)) attached++;
    const at = leaf[j] ? (candidates.find((c) => c >= attached) ?? candidates[0]) : candidates[candidates.length - 1];
    if (at !== undefined) starts.push(at);
  });
  // Path-less nodes after a last module of modules that change the shape (dynamo's pooling and
  // flatten when the graph was cut before the classifier) are the tail, not part of that module;
  // after a single layer (TorchScript's avgpool) they stay with it.
  const lastNamed = named[named.length - 1];
  if (lastNamed !== undefined && !leaf[lastNamed]) {
    let at = lastNamed + 1;
    while (at < main.length && keepsShape(main[at]!, facts)) at++;
    if (at < main.length && at > starts[starts.length - 1]! && valid(at, main.length)) starts.push(at);
  }
  // A block that cannot rebuild what it reads after all joins the one before it.
  for (let k = 1; k < starts.length; k++) {
    if (!valid(starts[k]!, starts[k + 1] ?? main.length)) starts.splice(k--, 1);
  }

  return starts.map((from, k) => {
    const to = starts[k + 1] ?? main.length;
    const blockInput = k === 0 ? input : crossing(from)[0]!;
    const blockOutput = k === starts.length - 1 ? output : crossing(to)[0]!;
    const own = main.slice(from, to);
    const rebuilt = rebuildBatchTensors(own, blockInput, facts, producer, batchOnly, position, from, opset);
    if (!rebuilt) throw new Error(`moduleBlocks: block ${k} cannot rebuild its batch-size tensors`);
    const nodes = withConstants([...rebuilt, ...own], producer, dynamic, batchOnly);
    const names = [...new Set(own.flatMap((n) => groupNames.get(groupOf.get(position.get(n)!) ?? -1) ?? []))];
    const leaves = own.every((n) => !keys[position.get(n)!] || leaf[position.get(n)!]);
    const name = k === 0 && leaves && names.length > 0 ? 'stem' : names.join('+') || (k === 0 ? 'stem' : k === starts.length - 1 ? 'tail' : `block${k}`);
    const initializers = [...new Set(nodes.flatMap((n) => n.inputs.filter((x) => inits.has(x))))];
    return { name, nodes, input: blockInput, output: blockOutput, initializers };
  });
}

/** A Shape output's known value, when it has no unknown element. */
function shapeValue(f: TensorFacts | undefined): Array<number | 'N'> | undefined {
  return f?.value && !f.value.includes(null) ? (f.value as Array<number | 'N'>) : undefined;
}

/**
 * The nodes that recompute, inside a block starting at `from`, the batch-size tensors it reads from
 * earlier: each Shape at their root becomes `Shape(input, start, end)` of the block's own input,
 * whose dims there equal that Shape's value. undefined when some Shape cannot be matched.
 */
function rebuildBatchTensors(nodes: readonly OnnxNode[], blockInput: string, facts: Map<string, TensorFacts>, producer: Map<string, OnnxNode>, batchOnly: ReadonlySet<string>, position: Map<OnnxNode, number>, from: number, opset: number): OnnxNode[] | undefined {
  const own = new Set(nodes);
  const needed: OnnxNode[] = [];
  const seen = new Set<OnnxNode>();
  const visit = (t: string): boolean => {
    const p = producer.get(t);
    if (!p || !batchOnly.has(t) || own.has(p) || seen.has(p)) return true;
    seen.add(p);
    const data = p.inputs[0] ?? '';
    if (p.op === 'Shape' && (data === blockInput || nodes.some((n) => n.outputs.includes(data)))) {
      // The Shape of a tensor this block has anyway stays as it is.
      needed.push(p);
      return true;
    }
    if (p.op === 'Shape' && !batchOnly.has(data)) {
      const shape = facts.get(blockInput)?.shape;
      const want = shapeValue(facts.get(p.outputs[0]!));
      const start = shape && want ? findRun(shape, want) : -1;
      if (start < 0 || !shape || !want) return false;
      const whole = start === 0 && want.length === shape.length;
      if (!whole && opset < 15) return false;
      needed.push({ ...p, inputs: [blockInput], attrs: whole ? {} : { start, end: start + want.length } });
      return true;
    }
    const ok = p.inputs.every((x) => x === '' || visit(x));
    needed.push(p);
    return ok;
  };
  for (const n of nodes) for (const x of n.inputs) if (!visit(x)) return undefined;
  // Keep the graph's order among the copied nodes.
  return needed.sort((a, b) => (position.get(a) ?? from) - (position.get(b) ?? from));
}

/** Where `want` occurs as a run of `shape` ('N' matching 'N'), or -1. */
function findRun(shape: readonly Dim[], want: ReadonlyArray<number | 'N'>): number {
  for (let s = 0; s + want.length <= shape.length; s++) if (want.every((w, i) => shape[s + i] === w)) return s;
  return -1;
}

/** A block's nodes with copies of the constant-only nodes they read (anything not dynamic). */
function withConstants(nodes: OnnxNode[], producer: Map<string, OnnxNode>, dynamic: ReadonlySet<string>, batchOnly: ReadonlySet<string>): OnnxNode[] {
  const have = new Set(nodes);
  const extra: OnnxNode[] = [];
  const visit = (t: string): void => {
    const p = producer.get(t);
    if (!p || have.has(p) || dynamic.has(t) || batchOnly.has(t)) return;
    have.add(p);
    p.inputs.forEach(visit);
    extra.push(p);
  };
  for (const n of nodes) n.inputs.forEach(visit);
  return [...extra, ...nodes];
}

/** True when a node's first output has the shape of its first input (activations, residual adds). */
function keepsShape(node: OnnxNode, facts: Map<string, TensorFacts>): boolean {
  const a = facts.get(node.inputs[0] ?? '')?.shape;
  const b = facts.get(node.outputs[0] ?? '')?.shape;
  return a !== undefined && b !== undefined && a !== null && b !== null && a.length === b.length && a.every((d, i) => d === b[i]);
}
