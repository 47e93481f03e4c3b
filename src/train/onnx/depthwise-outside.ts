import type { OnnxGraph, OnnxNode } from '../../engine/onnx/model-proto.js';
import { prune } from '../../io/onnx/fold.js';
import { intAttr, intsAttr, stringAttr } from '../graph/attrs.js';
import type { DepthwiseGeometry, DepthwiseKernel } from './depthwise-kernel.js';
import type { StepValue } from './step-session.js';
import { atTwoBatches } from './gradient-outputs.js';

/**
 * At fewer output positions per image the step graph's grouped Conv is faster than the kernel
 * (MobileNetV2 α 0.35, batch 32, ms, graph → kernel: 144 channels at 4×4 0.8 → 1.0, 336 at 2×2
 * 0.5 → 1.2; 96 at 8×8 2.1 → 1.5, 16 at 32×32 5.7 → 1.8; bench/RESULTS.md).
 */
export const DEPTHWISE_MIN_POSITIONS = 64;

/** A depthwise convolution whose weight gradient DepthwiseKernel computes from the step graph's X and dY outputs. */
export interface OutsideDepthwise {
  /** The trained variable, and the graph outputs (tensors of the graph) holding X and dY. */
  weight: string;
  x: string;
  dy: string;
  geometry: DepthwiseGeometry;
  /** Where each float of dW [C, 1, kh, kw] goes in the variable (a Keras kernel [kh, kw, C, 1] is transposed in the graph); undefined: in order. */
  order?: Int32Array;
}

/**
 * The step graph without the weight gradients of its depthwise convolutions (group = channels,
 * one filter each, 2-D, weight trained by the update kernel, at least DEPTHWISE_MIN_POSITIONS output
 * positions per image): their X and dY become outputs instead, and DepthwiseKernel sums dW from
 * them. Only where the gradient is exactly the autodiff's grouped-Conv form (ops/conv.ts), the
 * weight feeds that one Conv (directly or through one Transpose), and the sizes are known.
 */
export function depthwiseOutside(graph: OnnxGraph, trained: ReadonlySet<string>): { graph: OnnxGraph; layers: OutsideDepthwise[] } {
  const layers: OutsideDepthwise[] = [];
  if (!graph.nodes.some((n) => n.op === 'Conv' && !n.domain && intAttr(n, 'group', 1) > 1)) return { graph, layers };
  const facts = atTwoBatches(graph);
  if (!facts) return { graph, layers };
  const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const fed = new Set([...graph.inputs.map((i) => i.name), ...graph.initializers.map((t) => t.name)]);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const dims = (name: string): number[] | undefined => {
    const [a, b] = facts.map((f) => f.get(name)?.shape);
    return a && b && a.length === b.length && a.every((d, i) => typeof d === 'number' && d === b[i]) ? (a as number[]) : undefined;
  };
  // Sized up to the batch: [·, C, H, W] at both batch sizes.
  const spatial = (name: string): [number, number, number] | undefined => {
    const [a, b] = facts.map((f) => f.get(name)?.shape);
    if (!a || !b || a.length !== 4 || b.length !== 4) return undefined;
    const rest = a.slice(1);
    return rest.every((d, i) => typeof d === 'number' && d === b[i + 1]) ? (rest as [number, number, number]) : undefined;
  };
  const taken = new Set<string>();
  for (const v of trained) {
    if (!outputs.has(`grad.${v}`)) continue;
    const forward = forwardConv(graph, v, producer);
    if (!forward) continue;
    const { conv, perm } = forward;
    const dy = gradientDy(`grad.${v}`, perm !== undefined, producer);
    const w = dims(conv.inputs[1]!);
    const x = conv.inputs[0]!;
    const auto = stringAttr(conv, 'auto_pad', 'NOTSET');
    if (!dy || !w || w.length !== 4 || w[1] !== 1 || w[0] !== intAttr(conv, 'group', 1) || (auto !== 'NOTSET' && auto !== 'VALID')) continue;
    if (fed.has(x) || outputs.has(x) || outputs.has(dy) || taken.has(x) || taken.has(dy)) continue;
    const [xs, ys] = [spatial(x), spatial(dy)];
    if (!xs || !ys || xs[0] !== w[0] || ys[0] !== w[0] || ys[1] * ys[2] < DEPTHWISE_MIN_POSITIONS) continue;
    const pads = auto === 'VALID' ? [0, 0, 0, 0] : (intsAttr(conv, 'pads') ?? [0, 0, 0, 0]);
    const geometry: DepthwiseGeometry = {
      channels: w[0]!,
      inSize: [xs[1], xs[2]],
      outSize: [ys[1], ys[2]],
      kernel: [w[2]!, w[3]!],
      strides: (intsAttr(conv, 'strides') ?? [1, 1]) as [number, number],
      dilations: (intsAttr(conv, 'dilations') ?? [1, 1]) as [number, number],
      pads: [pads[0]!, pads[1]!],
    };
    const vDims = dims(v);
    if (perm && !vDims) continue;
    taken.add(x).add(dy);
    layers.push({ weight: v, x, dy, geometry, ...(perm ? { order: transposedOrder(vDims!, perm) } : {}) });
  }
  if (layers.length === 0) return { graph, layers };
  const gone = new Set(layers.map((l) => `grad.${l.weight}`));
  const kept = graph.outputs.filter((o) => !gone.has(o.name));
  const extra = layers.flatMap((l) => [{ name: l.x, type: 1 }, { name: l.dy, type: 1 }]);
  return { graph: prune({ ...graph, outputs: [...kept, ...extra] }), layers };
}

/** The step's fetches of each layer's X and dY at batch m, into `planes` (X, dY, X, dY, … in layer order). */
export function depthwiseFetches(layers: readonly OutsideDepthwise[], planes: readonly Float32Array[], m: number): Record<string, StepValue> {
  return Object.fromEntries(
    layers.flatMap((l, i) => [
      [l.x, { data: planes[2 * i]!, dims: [m, l.geometry.channels, ...l.geometry.inSize] }],
      [l.dy, { data: planes[2 * i + 1]!, dims: [m, l.geometry.channels, ...l.geometry.outSize] }],
    ]),
  );
}

/** After the run: each layer's dW summed by the kernel into `gradient(weight)`, in the variable's own layout. */
export function sumDepthwise(kernel: DepthwiseKernel, layers: readonly OutsideDepthwise[], planes: readonly Float32Array[], m: number, gradient: (weight: string) => Float32Array): void {
  layers.forEach((l, i) => {
    const dw = kernel.weightGradient(l.geometry, planes[2 * i]!, planes[2 * i + 1]!, m);
    const g = gradient(l.weight);
    if (l.order) l.order.forEach((at, k) => (g[at] = dw[k]!));
    else g.set(dw);
  });
}

/**
 * The one grouped Conv reading variable v as its weight: directly, or as Transpose(v) or
 * Reshape(Transpose(v)) (a Keras kernel, context.ts: a Reshape keeps the order), then with the
 * transpose's perm.
 */
function forwardConv(graph: OnnxGraph, v: string, producer: Map<string, OnnxNode>): { conv: OnnxNode; perm?: number[] } | undefined {
  const convs = graph.nodes.filter((n) => n.op === 'Conv' && !n.domain && n.inputs.length >= 2 && intAttr(n, 'group', 1) > 1);
  const found = convs.flatMap((conv) => {
    const w = conv.inputs[1]!;
    if (w === v) return [{ conv }];
    const r = producer.get(w);
    const t = r?.op === 'Reshape' ? producer.get(r.inputs[0]!) : r;
    return t?.op === 'Transpose' && t.inputs[0] === v ? [{ conv, perm: intsAttr(t, 'perm') ?? [3, 2, 1, 0] }] : [];
  });
  return found.length === 1 ? found[0] : undefined;
}

/**
 * dY of a grouped Conv's weight gradient as ops/conv.ts writes it: Transpose(Slice(Conv(xs,
 * filters)), [1, 0, 2, 3]) with filters = Reshape(Transpose(Reshape(dY), [1, 2, 0, 3, 4])); under
 * one more Transpose (and a Reshape) where the weight was transposed in the graph.
 */
function gradientDy(output: string, transposed: boolean, producer: Map<string, OnnxNode>): string | undefined {
  const is = (n: OnnxNode | undefined, op: string, perm?: string): n is OnnxNode => n?.op === op && (perm === undefined || intsAttr(n, 'perm')?.join() === perm);
  let p: OnnxNode | undefined = producer.get(output);
  while (p?.op === 'Identity') p = producer.get(p.inputs[0]!);
  // The gradients of the weight's Transpose (and Reshape) in the forward: a Transpose back, a Reshape.
  if (transposed) {
    p = p?.op === 'Transpose' && intsAttr(p, 'perm')?.join() !== '1,0,2,3' ? producer.get(p.inputs[0]!) : undefined;
    if (p?.op === 'Reshape') p = producer.get(p.inputs[0]!);
  }
  if (!is(p, 'Transpose', '1,0,2,3')) return undefined;
  const slice = producer.get(p.inputs[0]!);
  const conv = is(slice, 'Slice') ? producer.get(slice.inputs[0]!) : undefined;
  const filters = is(conv, 'Conv') ? producer.get(conv.inputs[1]!) : undefined;
  const spread = is(filters, 'Reshape') ? producer.get(filters.inputs[0]!) : undefined;
  const split = is(spread, 'Transpose', '1,2,0,3,4') ? producer.get(spread.inputs[0]!) : undefined;
  return is(split, 'Reshape') ? split.inputs[0] : undefined;
}

/** For each float of Transpose(v, perm) (in its order), that float's index in v of dims vDims. */
function transposedOrder(vDims: readonly number[], perm: readonly number[]): Int32Array {
  const strides = vDims.map((_, a) => vDims.slice(a + 1).reduce((x, y) => x * y, 1));
  const tDims = perm.map((a) => vDims[a]!);
  const total = tDims.reduce((x, y) => x * y, 1);
  const order = new Int32Array(total);
  for (let k = 0; k < total; k++) {
    let rest = k;
    let at = 0;
    for (let a = tDims.length - 1; a >= 0; a--) {
      at += (rest % tDims[a]!) * strides[perm[a]!]!;
      rest = Math.floor(rest / tDims[a]!);
    }
    order[k] = at;
  }
  return order;
}
