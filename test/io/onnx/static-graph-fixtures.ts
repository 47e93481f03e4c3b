import { existsSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { DATA_TYPE_NAMES, FLOAT, INT64, encodeOnnxModel, type OnnxGraph, type OnnxModel } from '../../../src/engine/onnx/model-proto.js';
import { loadOnnxRuntime } from '../../../src/engine/onnx/runtime.js';
import { readOnnxModel } from '../../../src/io/onnx/read.js';

/**
 * Shared by the static-graph tests (shape inference, folding, cuts, blocks): the fixture files,
 * deterministic inputs for a batch size, and a run of any graph on onnxruntime-node.
 */

export const SMALL_DIR = path.resolve(import.meta.dirname, '../../../fixtures/onnx');
export const LARGE_DIR = process.env.GRAFT_ONNX_FIXTURES ?? path.join(os.homedir(), '.cache/graft/onnx-fixtures');

export const SMALL_FILES = readdirSync(SMALL_DIR).filter((f) => f.endsWith('.onnx')).sort().map((f) => path.join(SMALL_DIR, f));
/** The large fixtures (make.py --large), one default and one keep-bn file per exporter family. */
// make.py --large's exports only (MODEL.EXPORTER-opN[.keep-bn].onnx): other files share the folder (bench/peers' resnet18-64.onnx).
const LARGE_NAME = /^[a-z0-9_]+\.(torchscript|dynamo)-op\d+(\.keep-bn)?\.onnx$/;
export const LARGE_FILES = existsSync(LARGE_DIR) ? readdirSync(LARGE_DIR).filter((f) => LARGE_NAME.test(f)).sort().map((f) => path.join(LARGE_DIR, f)) : [];
export const LARGE_MISSING = LARGE_FILES.length === 0 ? `no large ONNX fixtures in ${LARGE_DIR} (make them with: python fixtures/onnx/make.py --large --out ${LARGE_DIR})` : undefined;

const models = new Map<string, Promise<OnnxModel>>();
export function model(file: string): Promise<OnnxModel> {
  let m = models.get(file);
  if (!m) models.set(file, (m = readOnnxModel(file).then((r) => r.model)));
  return m;
}

export async function ort(): Promise<typeof Ort> {
  const o = await loadOnnxRuntime();
  if (typeof o === 'string') throw new Error(o);
  return o;
}

/** The one data input of a fixture and its shape with the batch as 'N'. */
export function dataInput(g: OnnxGraph): { name: string; type: number; shape: Array<number | 'N'> } {
  const inits = new Set(g.initializers.map((t) => t.name));
  const v = g.inputs.find((i) => !inits.has(i.name))!;
  return { name: v.name, type: v.type ?? FLOAT, shape: v.shape!.map((d) => (typeof d === 'number' ? d : 'N')) };
}

/** A deterministic input for `batch` rows: uniform floats in [-1, 1), or token ids in [0, 100). */
export function feedFor(o: typeof Ort, g: OnnxGraph, batch: number): Record<string, Ort.Tensor> {
  const { name, type, shape } = dataInput(g);
  const dims = shape.map((d) => (d === 'N' ? batch : d));
  const n = dims.reduce((p, d) => p * d, 1);
  let seed = 12345 + batch;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  if (type === INT64) return { [name]: new o.Tensor('int64', BigInt64Array.from({ length: n }, () => BigInt(Math.floor(next() * 100))), dims) };
  return { [name]: new o.Tensor('float32', Float32Array.from({ length: n }, () => next() * 2 - 1), dims) };
}

export interface RunResult { type: string; dims: number[]; data: ArrayLike<number | bigint> }

/** Runs a graph (the model's opsets) on onnxruntime, returning the named outputs. */
export async function runGraph(m: OnnxModel, graph: OnnxGraph, feeds: Record<string, Ort.Tensor>): Promise<Map<string, RunResult>> {
  const o = await ort();
  const session = await o.InferenceSession.create(encodeOnnxModel({ ...m, graph }), { graphOptimizationLevel: 'disabled' });
  try {
    const wanted = new Set(graph.inputs.map((v) => v.name));
    const out = await session.run(Object.fromEntries(Object.entries(feeds).filter(([k]) => wanted.has(k))));
    return new Map(Object.entries(out).map(([k, t]) => [k, { type: t.type, dims: [...t.dims], data: t.data as ArrayLike<number | bigint> }]));
  } finally {
    await session.release();
  }
}

/** A copy of the graph whose outputs are every tensor its nodes compute (types as given). */
export function everyTensorOut(graph: OnnxGraph, typeOf: (name: string) => number): OnnxGraph {
  const outs = graph.nodes.flatMap((n) => n.outputs.filter((o) => o !== ''));
  return { ...graph, outputs: outs.map((name) => ({ name, type: typeOf(name) })) };
}

export const typeName = (type: number): string => DATA_TYPE_NAMES[type] ?? String(type);

/** Largest |a − b| over two outputs of the same size (NaN when sizes differ). */
export function maxDiff(a: RunResult, b: RunResult): number {
  if (a.data.length !== b.data.length) return Number.NaN;
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(Number(a.data[i]!) - Number(b.data[i]!)));
  return m;
}
