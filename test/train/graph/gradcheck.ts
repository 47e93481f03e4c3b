import { expect } from 'vitest';
import type * as Ort from 'onnxruntime-node';
import { DOUBLE, FLOAT, INT64, encodeOnnxModel, type OnnxGraph, type OnnxInitializer, type OnnxNode } from '../../../src/engine/onnx/model-proto.js';
import { loadOnnxRuntime } from '../../../src/engine/onnx/runtime.js';
import { Rng } from '../../../src/engine/rng.js';
import { buildGradientGraph } from '../../../src/train/graph/autodiff.js';

/**
 * Checks an op's gradient the way autograd libraries do (PyTorch's gradcheck): the gradient graph
 * graft builds, run on onnxruntime in float32, against central finite differences of the forward
 * graph. The forward graph runs in float64 where onnxruntime's CPU provider has the op in double
 * (then h = 1e-5 and the reference is exact to ~1e-9); otherwise in float32 with the case's own
 * step (exact for ops linear in the perturbed value, such as Conv and average pooling).
 * The loss is Σ r ⊙ y for a fixed random r, so every output element's gradient matters.
 */
export const ort = await loadOnnxRuntime();
export const missing = typeof ort === 'string' ? ort : undefined;

export interface TensorSpec {
  dims: number[];
  /** Fixed values (default: uniform in [lo, hi)). */
  data?: number[];
  /** An int64 tensor (indices, shapes, axes): never trained. */
  int?: boolean;
  /** Float tensors train unless false. */
  trainable?: boolean;
  lo?: number;
  hi?: number;
}

export interface OpCase {
  nodes: OnnxNode[];
  /** Every tensor the nodes read, as initializers; the output to check is `y`. */
  tensors: Record<string, TensorSpec>;
  /** Finite-difference step when the forward runs in float32 (default 1e-3). */
  floatStep?: number;
  seed?: number;
  /** The opset to encode with (default 17; Gelu needs 20). */
  opset?: number;
}

export interface CheckResult {
  precision: 'float64' | 'float32';
  /** Per trainable: max |graft − reference| / max |reference| over the checked elements. */
  errors: Record<string, number>;
}

const SAMPLES = 12;
/** Quiet: onnxruntime's warnings about these tiny graphs are noise here. */
const QUIET = { logSeverityLevel: 3 } as const;

export async function gradCheck(c: OpCase): Promise<CheckResult> {
  const o = ort as typeof Ort;
  const rng = new Rng(c.seed ?? 7);
  const encodeModel = (graph: OnnxGraph): Uint8Array => encodeOnnxModel({ irVersion: 10, producerName: 'graft', opsets: [{ domain: '', version: c.opset ?? 17 }], graphName: 'gradcheck', graph });
  const specs: Record<string, TensorSpec> = { ...c.tensors };
  const values = new Map<string, Float64Array | BigInt64Array>();
  for (const [name, s] of Object.entries(c.tensors)) {
    const size = s.dims.reduce((a, b) => a * b, 1);
    if (s.int) values.set(name, BigInt64Array.from(s.data!.map(BigInt)));
    else values.set(name, s.data ? Float64Array.from(s.data) : Float64Array.from({ length: size }, () => (s.lo ?? -1) + rng.next() * ((s.hi ?? 1) - (s.lo ?? -1))));
  }
  const trainable = Object.entries(specs).filter(([, s]) => !s.int && s.trainable !== false).map(([n]) => n);
  const init = (name: string, double: boolean): OnnxInitializer => {
    const v = values.get(name)!;
    return { name, dims: specs[name]!.dims, data: v instanceof BigInt64Array ? v : double ? v : Float32Array.from(v) };
  };
  const graphOf = (double: boolean, withLoss: boolean): OnnxGraph => ({
    nodes: withLoss ? [...c.nodes, { op: 'Mul', inputs: ['y', 'r'], outputs: ['weighted'] }, { op: 'ReduceSum', inputs: ['weighted'], outputs: ['loss'], attrs: { keepdims: 0 } }] : c.nodes,
    inputs: [],
    outputs: [withLoss ? { name: 'loss', type: double ? DOUBLE : FLOAT, shape: [] } : { name: 'y', type: FLOAT }],
    initializers: [...values.keys()].filter((n) => withLoss || n !== 'r').map((n) => init(n, double)),
  });
  // y's shape, then the loss weights r.
  const probe = await o.InferenceSession.create(encodeModel(graphOf(false, false)), QUIET);
  const y = (await probe.run({})).y!;
  values.set('r', Float64Array.from({ length: y.size }, () => rng.next() * 2 - 1));
  specs.r = { dims: [...y.dims], trainable: false };

  const built = buildGradientGraph(graphOf(false, true), { loss: 'loss', trainable, opset: c.opset ?? 17 });
  const session = await o.InferenceSession.create(encodeModel(built.graph), QUIET);
  const feeds: Record<string, Ort.Tensor> = {};
  for (const p of built.params) feeds[p.name] = new o.Tensor('float32', p.data as Float32Array, p.dims);
  const got = await session.run(feeds);

  // The reference forward: trainables as inputs so each perturbation is one run.
  let precision: CheckResult['precision'] = 'float64';
  const refGraph = (double: boolean): OnnxGraph => {
    const g = graphOf(double, true);
    return { ...g, initializers: g.initializers.filter((t) => !trainable.includes(t.name)), inputs: trainable.map((n) => ({ name: n, type: double ? DOUBLE : FLOAT, shape: specs[n]!.dims })) };
  };
  let ref: Ort.InferenceSession;
  try {
    ref = await o.InferenceSession.create(encodeModel(refGraph(true)), QUIET);
  } catch {
    precision = 'float32';
    ref = await o.InferenceSession.create(encodeModel(refGraph(false)), QUIET);
  }
  const h = precision === 'float64' ? 1e-5 : (c.floatStep ?? 1e-3);
  const lossAt = async (name: string, k: number, delta: number): Promise<number> => {
    const f: Record<string, Ort.Tensor> = {};
    for (const n of trainable) {
      const v = Float64Array.from(values.get(n) as Float64Array);
      if (n === name) v[k]! += delta;
      f[n] = precision === 'float64' ? new o.Tensor('float64', v, specs[n]!.dims) : new o.Tensor('float32', Float32Array.from(v), specs[n]!.dims);
    }
    return Number((await ref.run(f)).loss!.data[0]);
  };
  const errors: Record<string, number> = {};
  for (const { param, output } of built.gradients) {
    const g = got[output]!.data as Float32Array;
    const size = g.length;
    const picks = size <= SAMPLES ? Array.from({ length: size }, (_, k) => k) : Array.from({ length: SAMPLES }, () => rng.int(size));
    let worst = 0;
    let scale = 0;
    for (const k of picks) {
      const fd = ((await lossAt(param, k, h)) - (await lossAt(param, k, -h))) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - g[k]!));
      scale = Math.max(scale, Math.abs(fd));
    }
    errors[param] = worst / Math.max(scale, 1e-6);
  }
  return { precision, errors };
}

/** Runs the check and expects every trainable's relative error below `tolerance`. */
export async function expectGradients(what: string, c: OpCase, tolerance = 1e-4, expected?: CheckResult['precision']): Promise<CheckResult> {
  const r = await gradCheck(c);
  // GRADCHECK_REPORT=1 prints each case's figures (for the notes in src/train/graph/README.md).
  if (process.env.GRADCHECK_REPORT) console.log(`gradcheck ${what} [${r.precision}] ${Object.entries(r.errors).map(([p, e]) => `${p} ${e.toExponential(1)}`).join(', ')}`);
  if (expected) expect(r.precision, `${what}: reference precision`).toBe(expected);
  for (const [param, err] of Object.entries(r.errors)) expect(err, `${what}: d loss / d ${param} (${r.precision} reference)`).toBeLessThan(tolerance);
  return r;
}

/** A one-node case: op reading `inputs` and writing y. */
export function one(op: string, inputs: Record<string, TensorSpec>, attrs?: OnnxNode['attrs'], extra: Record<string, TensorSpec> = {}): OpCase {
  const node: OnnxNode = { op, inputs: [...Object.keys(inputs)], outputs: ['y'] };
  if (attrs) node.attrs = attrs;
  return { nodes: [node], tensors: { ...inputs, ...extra } };
}

export { INT64 };
