import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import type * as Ort from 'onnxruntime-node';
import { encodeOnnxModel } from '../../../src/engine/onnx/model-proto.js';
import { readOnnxModel } from '../../../src/io/onnx/read.js';
import { buildGradientGraph } from '../../../src/train/graph/autodiff.js';
import { softmaxCrossEntropy } from '../../../src/train/graph/loss.js';
import { batchNormTraining } from '../../../src/train/graph/batchnorm-training.js';
import { ort } from './gradcheck.js';
import { gemmConvs } from '../../../src/train/onnx/conv-gemm.js';
import { NCHWC_DOMAIN, nchwcBlock, nchwcConvs } from '../../../src/train/onnx/nchwc.js';
import type { OrtModule } from '../../../src/engine/onnx/runtime.js';

/**
 * The checks of graft's op-level autodiff against PyTorch autograd on graphs PyTorch exported
 * (fixtures/onnx/make.py; see its README for the reference format), shared by the committed small
 * fixtures and the large ones `make.py --large` writes outside the repository.
 * Default files have BatchNorm folded into the convolutions by the exporter: they train as plain
 * Convs, against the `folded/FILE/` references. `.keep-bn` files keep inference-mode BatchNorm
 * nodes, which are switched to training mode (batch statistics, as PyTorch's train mode).
 */

interface ArrayEntry { dtype: 'float32' | 'int32'; shape: number[]; offset: number; length: number }
export interface InitializerEntry { param?: string; buffer?: string; transform?: string; rows?: number[] }
export interface OnnxEntry { file: string; variant: string; ok: boolean; folded?: { arraysPrefix?: string; initializers?: Record<string, InitializerEntry> }; initializers?: Record<string, InitializerEntry> }
interface Header { bin: string; inputName: string; outputName: string; onnx: OnnxEntry[]; arrays: Record<string, ArrayEntry> }
interface Stored { data: Float32Array | Int32Array; shape: number[] }
export interface Fixture { dir: string; model: string; header: Header; array: (name: string) => Stored }

/** The header of MODEL.ref.json in dir; its arrays are read from MODEL.ref.bin on first use. */
export function fixture(dir: string, model: string): Fixture {
  const header = JSON.parse(readFileSync(path.join(dir, `${model}.ref.json`), 'utf8')) as Header;
  let bin: Buffer | undefined;
  return {
    dir,
    model,
    header,
    array: (name) => {
      const e = header.arrays[name];
      if (!e) throw new Error(`${model}: no array ${name}`);
      bin ??= readFileSync(path.join(dir, header.bin));
      const copy = new Uint8Array(bin.subarray(e.offset, e.offset + 4 * e.length)).buffer;
      return { data: e.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy), shape: e.shape };
    },
  };
}

/** The reference gradient of an initializer, in its layout. */
function reference(grad: Stored, how: InitializerEntry): Float32Array {
  const g = grad.data as Float32Array;
  if (how.transform === 'transpose') {
    const [r, c] = grad.shape as [number, number];
    return Float32Array.from({ length: r * c }, (_, k) => g[(k % r) * c + Math.floor(k / r)]!);
  }
  if (how.transform === 'leading-rows') {
    const width = g.length / grad.shape[0]!;
    return g.slice(how.rows![0]! * width, how.rows![1]! * width);
  }
  return g;
}

/**
 * The gradient graph of one exported file with its loss, in an onnxruntime session, and its feeds.
 * `rewrite`: with the convolution forms GraphStepper runs heavy steps in (conv-gemm.ts, nchwc.ts);
 * `forms` counts them.
 */
export async function prepare(fx: Fixture, entry: OnnxEntry, rewrite = false) {
  const { header } = fx;
  const read = (await readOnnxModel(path.join(fx.dir, entry.file))).model;
  const folded = entry.variant !== 'keep-bn' && entry.folded?.initializers;
  const map = Object.entries((folded ? entry.folded!.initializers : entry.initializers) ?? {}).filter(([, v]) => v.param);
  const prefix = folded ? (entry.folded!.arraysPrefix ?? '') : '';
  // PyTorch's train mode: BatchNorm on batch statistics, running averages updated with each node's
  // own momentum (the exporters write 1 − PyTorch's: 0.9 usually, 0.99 in MobileNetV3).
  // The backward needs opset ≥ 16 (ScatterElements' reduction); 13–15 mean the same as 17 for these ops.
  const opsets = read.opsets.map((o) => (o.domain === '' || o.domain === 'ai.onnx' ? { ...o, version: Math.max(o.version, 17) } : o));
  const opset = opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')!.version;
  const { graph: training, running } = batchNormTraining(read.graph, { variance: 'unbiased', opset });
  const graph = softmaxCrossEntropy(training, header.outputName);
  const built = buildGradientGraph(graph, { loss: 'loss', trainable: map.map(([name]) => name), opset });
  const o = ort as typeof Ort;
  let run = built.graph;
  const forms = { gemm: 0, blocked: 0, batched: 0 };
  if (rewrite) {
    const asGemm = gemmConvs(run, opset);
    const blocked = nchwcConvs(asGemm.graph, await nchwcBlock(o as unknown as OrtModule), opset);
    [run, forms.gemm, forms.blocked, forms.batched] = [blocked.graph, asGemm.rewritten, blocked.rewritten, asGemm.batched];
    if (forms.blocked > 0) opsets.push({ domain: NCHWC_DOMAIN, version: 1 });
  }
  const session = await o.InferenceSession.create(encodeOnnxModel({ ...read, irVersion: Math.max(read.irVersion, 8), opsets, graph: run }), { logSeverityLevel: 3 });
  const input = fx.array('input');
  const labels = fx.array('labels');
  const feeds: Record<string, Ort.Tensor> = {
    [header.inputName]: input.data instanceof Int32Array ? new o.Tensor('int64', BigInt64Array.from(input.data, BigInt), input.shape) : new o.Tensor('float32', input.data, input.shape),
    labels: new o.Tensor('int64', BigInt64Array.from(labels.data, BigInt), labels.shape),
  };
  for (const p of built.params) feeds[p.name] = new o.Tensor('float32', p.data as Float32Array, p.dims);
  return { map, prefix, built, session, feeds, running, forms };
}

/**
 * One backward of the mean cross-entropy on the stored batch: the loss, BatchNorm's running
 * averages after the batch, and every trained initializer's gradient within `bound` of its largest
 * element. `noisyReference` names PyTorch parameters whose stored float32 gradient is itself off
 * the exact one, with the bound it gets (the caller says why). Returns the number of parameters
 * and the worst relative error of the others.
 */
export async function checkGradients(fx: Fixture, entry: OnnxEntry, bound = 1e-4, noisyReference: Record<string, number> = {}, rewrite = false): Promise<{ parameters: number; worst: number; forms: { gemm: number; blocked: number; batched: number } }> {
  const { map, prefix, session, feeds, running, forms } = await prepare(fx, entry, rewrite);
  const out = await session.run(feeds);
  for (const r of running) {
    for (const [init, output] of [[r.mean, r.newMean], [r.variance, r.newVariance]] as const) {
      const buffer = entry.initializers?.[init]?.buffer;
      if (!buffer) throw new Error(`${entry.file}: no buffer for ${init}`);
      const want = fx.array(`buffer_after_train_forward/${buffer}`).data as Float32Array;
      const got = out[output]!.data as Float32Array;
      want.forEach((v, i) => expect(got[i]!, `${init} [${i}] after one training forward`).toBeCloseTo(v, 5));
    }
  }
  expect(Number(out.loss!.data[0]), 'loss').toBeCloseTo(Number(fx.array(`${prefix}loss_train`).data[0]), 5);
  const off: string[] = [];
  let worstAll = 0;
  for (const [name, how] of map) {
    const want = reference(fx.array(`${prefix}grad/${how.param}`), how);
    const got = out[`grad.${name}`]!.data as Float32Array;
    let worst = 0;
    let scale = 0;
    want.forEach((v, i) => {
      worst = Math.max(worst, Math.abs(v - got[i]!));
      scale = Math.max(scale, Math.abs(v));
    });
    // Attention's key bias shifts every score of a row alike, which softmax ignores: its gradient
    // is 0 exactly, float32 noise (~1e-9) in both; such gradients are compared absolutely.
    if (scale < 1e-6) {
      if (!(worst < 1e-6)) off.push(`${name} (${how.param}): ${worst} off a zero gradient`);
      continue;
    }
    const allowed = noisyReference[how.param!] ?? bound;
    if (allowed === bound) worstAll = Math.max(worstAll, worst / scale);
    if (!(worst / scale < allowed)) off.push(`${name} (${how.param}): ${worst} off, largest ${scale}`);
  }
  expect(off).toEqual([]);
  return { parameters: map.length, worst: worstAll, forms };
}

/**
 * Floor of the curve comparison: |graft − PyTorch| ≤ CURVE_RTOL · max(|PyTorch|, CURVE_FLOOR).
 * The 30-step curves memorise the batch and reach losses of 1e-6–1e-3 on the large models, where
 * a purely relative bound would compare float32 rounding of a near-zero loss (summation order
 * differs between PyTorch and onnxruntime); below 1e-2 the allowed difference stays 1e-5.
 */
export const CURVE_RTOL = 1e-3;
export const CURVE_FLOOR = 1e-2;

/**
 * 30 steps on the same batch from the same weights, the gradients from the autodiff and the
 * updates PyTorch's (here in float32 JS): SGD lr 0.01 momentum 0.9 (v = 0.9v + g, p −= 0.01v) and
 * Adam lr 1e-3, β 0.9/0.999, ε 1e-8 outside the square root. The loss before each step must
 * follow PyTorch's curve within CURVE_RTOL · max(|ref|, CURVE_FLOOR). Returns the worst
 * |Δ| / max(|ref|, CURVE_FLOOR) per optimizer; `limits` narrows a case (the caller says why). (The optimizer moves into the step graph when fit
 * switches to this compiler; here it only carries the gradients through 30 steps.)
 */
export interface CurveLimit {
  /** Compare only the first `steps` losses (default all 30). */
  steps?: number;
  /** The bound instead of CURVE_RTOL. */
  bound?: number;
}

export async function checkCurves(fx: Fixture, entry: OnnxEntry, limits: Partial<Record<'sgd' | 'adam', CurveLimit>> = {}): Promise<Record<'sgd' | 'adam', number>> {
  const o = ort as typeof Ort;
  const { prefix, built, session, feeds } = await prepare(fx, entry);
  const figures = { sgd: 0, adam: 0 };
  for (const name of ['sgd', 'adam'] as const) {
    const want = (fx.array(`${prefix}curve/${name}`).data as Float32Array).subarray(0, limits[name]?.steps);
    const got: number[] = [];
    const params = built.params.map((p) => Float32Array.from(p.data as Float32Array));
    const slots = params.map((p) => [new Float32Array(p.length), new Float32Array(p.length)] as const);
    let worst = 0;
    let where = 0;
    for (let step = 0; step < want.length; step++) {
      built.params.forEach((p, i) => (feeds[p.name] = new o.Tensor('float32', params[i]!, p.dims)));
      const out = await session.run(feeds);
      const loss = Number(out.loss!.data[0]);
      got.push(loss);
      const error = Math.abs(loss - want[step]!) / Math.max(Math.abs(want[step]!), CURVE_FLOOR);
      if (error > worst) [worst, where] = [error, step];
      built.gradients.forEach(({ output }, i) => {
        const g = out[output]!.data as Float32Array;
        const p = params[i]!;
        const [m, v] = slots[i]!;
        const t = step + 1;
        for (let k = 0; k < p.length; k++) {
          if (name === 'sgd') {
            m[k] = step === 0 ? g[k]! : Math.fround(0.9 * m[k]! + g[k]!);
            p[k] = Math.fround(p[k]! - 0.01 * m[k]!);
          } else {
            m[k] = Math.fround(0.9 * m[k]! + 0.1 * g[k]!);
            v[k] = Math.fround(0.999 * v[k]! + 0.001 * g[k]! * g[k]!);
            const mHat = m[k]! / (1 - 0.9 ** t);
            const vHat = v[k]! / (1 - 0.999 ** t);
            p[k] = Math.fround(p[k]! - (1e-3 * mHat) / (Math.sqrt(vHat) + 1e-8));
          }
        }
      });
    }
    figures[name] = worst;
    if (process.env.GRADCHECK_REPORT === 'curves') console.log(`${entry.file} ${name}\n  PyTorch ${Array.from(want, (v) => v.toPrecision(6)).join(' ')}\n  graft   ${got.map((v) => v.toPrecision(6)).join(' ')}`);
    expect(worst, `${entry.file} ${name}: largest loss difference over ${want.length} steps (step ${where}: PyTorch ${want[where]})`).toBeLessThan(limits[name]?.bound ?? CURVE_RTOL);
  }
  return figures;
}
