/**
 * Reverse-mode automatic differentiation over an ONNX graph — graft's one training compiler's core.
 *
 * Given a forward graph, the name of a scalar loss tensor and the trainable initializers, it
 * appends the backward pass to the graph: nodes in topological order, walked in reverse, each
 * node's gradient from the registry (one function per op type, registry.ts). Where a tensor is
 * read by several nodes its gradients are summed. Only nodes on a path from a trainable to the
 * loss get a backward (a frozen prefix costs only its forward), and only the inputs that depend
 * on a trainable get gradients. Each gradient reads the forward tensors it needs by name, so the
 * forward activations kept alive are exactly those (onnxruntime frees a tensor after its last reader).
 *
 * Trainable initializers become graph inputs: an onnxruntime session keeps its initializers
 * fixed, so weights that change every step come in as inputs (and the optimizer's new values go
 * out as outputs), which lets one session serve the whole run; the initial values are returned.
 */
import { FLOAT, tensorDataType, type OnnxGraph, type OnnxInitializer, type OnnxNode } from '../../engine/onnx/model-proto.js';
import { GraftError } from '../../errors.js';
import { describeNode } from './attrs.js';
import { Emitter } from './emit.js';
import { inferFacts } from './facts.js';
import { topologicalOrder } from './order.js';
import { differentiableOps, GRADIENTS, NOT_DIFFERENTIABLE } from './registry.js';

export interface GradientGraphOptions {
  /** The scalar tensor to differentiate (a graph output or any intermediate tensor). */
  loss: string;
  /** Initializers to differentiate with respect to (float32). */
  trainable: readonly string[];
  /**
   * The opset the result will be encoded with (default 17, what encodeModel writes). The backward
   * uses ops of opset ≥ 16 (ScatterElements with reduction), so a model read at opset 13–15 is
   * encoded at 17: nothing the forward uses changes meaning between 13 and 17.
   */
  opset?: number;
  /** The output name of a parameter's gradient. Default `grad.NAME`. */
  gradientName?: (param: string) => string;
}

export interface GradientGraph {
  /** The forward graph with the loss, the backward pass and one output per gradient; trainables are inputs. */
  graph: OnnxGraph;
  /** Per trainable, in the order asked: its name (now a graph input) and its gradient's output. */
  gradients: Array<{ param: string; output: string }>;
  /** The trainables' values when the graph was built (the first step's inputs). */
  params: OnnxInitializer[];
}

export function buildGradientGraph(forward: OnnxGraph, options: GradientGraphOptions): GradientGraph {
  const gradientName = options.gradientName ?? ((p: string) => `grad.${p}`);
  const order = topologicalOrder(forward);
  const produced = new Set(order.flatMap((n) => n.outputs));
  if (!produced.has(options.loss) && !forward.inputs.some((v) => v.name === options.loss)) {
    throw new GraftError('BAD_ARGUMENT', `The loss ${JSON.stringify(options.loss)} is no tensor of the graph (received outputs ${forward.outputs.map((o) => o.name).join(', ') || 'none'}). Name the scalar loss tensor, or build one with softmaxCrossEntropy().`);
  }
  const inits = new Map(forward.initializers.map((t) => [t.name, t]));
  const params = options.trainable.map((name) => {
    const t = inits.get(name);
    if (!t || tensorDataType(t) !== FLOAT) {
      throw new GraftError('BAD_ARGUMENT', `${JSON.stringify(name)} cannot train: it is ${t ? 'not float32' : 'no initializer of the graph'}. Trainable tensors are float32 initializers, such as ${forward.initializers.filter((i) => tensorDataType(i) === FLOAT).slice(0, 4).map((i) => i.name).join(', ') || '(none here)'}.`);
    }
    return t;
  });
  const facts = inferFacts(forward, order);

  // Tensors that depend on a trainable: only they need gradients.
  const varies = new Set<string>(options.trainable);
  for (const n of order) if (!NOT_DIFFERENTIABLE.has(n.op) && n.inputs.some((i) => varies.has(i))) n.outputs.forEach((o) => o && varies.add(o));
  // Tensors the loss depends on: a gradient flows back only through them.
  const producer = new Map<string, OnnxNode>();
  for (const n of order) for (const o of n.outputs) producer.set(o, n);
  const feedsLoss = new Set<string>();
  const stack = [options.loss];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (feedsLoss.has(t)) continue;
    feedsLoss.add(t);
    for (const i of producer.get(t)?.inputs ?? []) if (i) stack.push(i);
  }

  const graph: OnnxGraph = {
    nodes: [...order],
    inputs: [...forward.inputs],
    outputs: [...forward.outputs],
    initializers: forward.initializers.filter((t) => !options.trainable.includes(t.name)),
    ...(forward.valueInfo ? { valueInfo: [...forward.valueInfo] } : {}),
  };
  const taken = new Set<string>([...produced, ...forward.inputs.map((v) => v.name), ...forward.initializers.map((t) => t.name)]);
  const e = new Emitter(graph, taken, options.opset ?? 17);
  const grads = new Map<string, string[]>();
  const add = (t: string, g: string): void => void grads.set(t, [...(grads.get(t) ?? []), g]);
  const total = (t: string): string | undefined => {
    const parts = grads.get(t);
    if (!parts) return undefined;
    return parts.length === 1 ? parts[0]! : e.op('Sum', parts, undefined, 'accumulate');
  };
  add(options.loss, e.op('Expand', [e.scalar(1), e.shape(options.loss)], undefined, 'seed'));

  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k]!;
    if (NOT_DIFFERENTIABLE.has(node.op) || !node.outputs.some((o) => varies.has(o) && feedsLoss.has(o))) continue;
    const dy = node.outputs.map((o) => (o ? total(o) : undefined));
    if (dy.every((d) => d === undefined)) continue;
    const needs = node.inputs.map((i) => i !== '' && varies.has(i));
    const fn = node.domain ? undefined : GRADIENTS.get(node.op);
    if (!fn) {
      throw new GraftError(
        'BACKEND_UNAVAILABLE',
        `graft has no gradient for the ${describeNode(node)}${node.domain ? ` (domain ${node.domain})` : ''}, which lies between a trainable tensor and the loss (received op ${node.op}). Freeze the layers up to it, or train a model made of ops with gradients: ${differentiableOps().join(', ')}.`,
      );
    }
    const dx = fn({ node, e, facts, dy, needs });
    node.inputs.forEach((i, j) => {
      const g = dx[j];
      if (needs[j] && g) add(i, g);
    });
  }

  const gradients = options.trainable.map((param) => {
    const output = gradientName(param);
    // A trainable the loss does not depend on gets a zero gradient (PyTorch leaves it None).
    const g = total(param) ?? e.op('Expand', [e.scalar(0), e.shape(param)]);
    graph.nodes.push({ op: 'Identity', inputs: [g], outputs: [output] });
    graph.outputs.push({ name: output, type: FLOAT, shape: inits.get(param)!.dims });
    return { param, output };
  });
  if (!graph.outputs.some((o) => o.name === options.loss)) graph.outputs.unshift({ name: options.loss, type: FLOAT, shape: [] });
  graph.inputs.push(...params.map((t) => ({ name: t.name, type: FLOAT, shape: t.dims })));
  prune(graph);
  return { graph, gradients, params };
}

/** Drops nodes no output depends on (e.g. forward branches beside the loss), and constants nothing reads. */
function prune(graph: OnnxGraph): void {
  const needed = new Set(graph.outputs.map((o) => o.name));
  const kept: OnnxNode[] = [];
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const n = graph.nodes[k]!;
    if (!n.outputs.some((o) => needed.has(o))) continue;
    kept.push(n);
    n.inputs.forEach((i) => needed.add(i));
  }
  graph.nodes = kept.reverse();
  graph.initializers = graph.initializers.filter((t) => needed.has(t.name));
}
