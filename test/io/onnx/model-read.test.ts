import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../src/engine/onnx/graph-builder.js';
import { BFLOAT16, BOOL, FLOAT, FLOAT16, INT64, encodeModel, encodeOnnxModel, tensorDataType, type OnnxGraph, type OnnxModel, type OnnxTensor } from '../../../src/engine/onnx/model-proto.js';
import { decodeOnnxModel, readOnnxModel } from '../../../src/io/onnx/read.js';

/**
 * The ONNX reader against what onnx's own parser reads from files real exporters wrote
 * (fixtures/make_fixtures.py writes both), and against graft's own writer: write → read → the same IR.
 */

const FIXTURES = path.join(import.meta.dirname, 'fixtures');

interface Expected {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: Array<{ domain: string; version: number }>;
  graphName: string;
  inputs: Array<{ name: string; type: number; shape: Array<number | string | null> | null }>;
  outputs: Array<{ name: string; type: number; shape: Array<number | string | null> | null }>;
  initializers: Array<{ name: string; dims: number[]; type: number; values: Array<number | string> }>;
  nodes: Array<{ name: string; op: string; domain: string; inputs: string[]; outputs: string[]; attrs: string[] }>;
}

/** A tensor's values as the fixture script lists them: numbers, float16 bits, 0/1, or integer strings. */
function values(t: OnnxTensor): Array<number | string> {
  if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) return Array.from(t.data, (v) => v.toString());
  const type = tensorDataType(t);
  if (t.data instanceof Float32Array || t.data instanceof Float64Array || type === FLOAT16 || type === BFLOAT16) return Array.from(t.data as ArrayLike<number>);
  return Array.from(t.data as ArrayLike<number>, (v) => (type === BOOL ? v : String(v)));
}

function matchesOnnx(model: OnnxModel, expected: Expected): void {
  expect({ ir: model.irVersion, producer: model.producerName ?? '', version: model.producerVersion ?? '', opsets: model.opsets, graph: model.graphName }).toEqual({
    ir: expected.irVersion, producer: expected.producerName, version: expected.producerVersion, opsets: expected.opsets, graph: expected.graphName,
  });
  const io = (vs: OnnxGraph['inputs']) => vs.map((v) => ({ name: v.name, type: v.type, shape: v.shape ?? null }));
  expect(io(model.graph.inputs)).toEqual(expected.inputs);
  expect(io(model.graph.outputs)).toEqual(expected.outputs);
  expect(model.graph.initializers.map((t) => ({ name: t.name, dims: t.dims, type: tensorDataType(t) }))).toEqual(expected.initializers.map(({ name, dims, type }) => ({ name, dims, type })));
  model.graph.initializers.forEach((t, i) => {
    const want = expected.initializers[i]!.values;
    const got = values(t);
    // float32 values went through JSON as doubles; compare as float32.
    if (t.data instanceof Float32Array) expect(got).toEqual(want.map((v) => Math.fround(v as number)));
    else expect(got, t.name).toEqual(want);
  });
  expect(model.graph.nodes.map((n) => ({ name: n.name ?? '', op: n.op, domain: n.domain ?? '', inputs: n.inputs, outputs: n.outputs, attrs: Object.keys(n.attrs ?? {}).sort() }))).toEqual(expected.nodes);
}

function expected(name: string): Expected {
  return JSON.parse(readFileSync(path.join(FIXTURES, `${name}.expected.json`), 'utf8')) as Expected;
}

describe('reading ONNX files real exporters wrote', () => {
  it('a conv net from torch.onnx.export: every field as onnx reads it', async () => {
    const { model } = await readOnnxModel(path.join(FIXTURES, 'conv.onnx'));
    matchesOnnx(model, expected('conv'));
    expect(model.graph.nodes.map((n) => n.op)).toEqual(['Conv', 'Relu', 'MaxPool', 'Flatten', 'Gemm']);
    expect(model.graph.nodes[0]!.attrs).toMatchObject({ kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] });
    expect(model.graph.inputs[0]!.shape).toEqual(['batch', 3, 8, 8]);
  });

  it('an MLP whose weights sit in an external data file', async () => {
    const { model } = await readOnnxModel(path.join(FIXTURES, 'mlp.onnx'));
    matchesOnnx(model, expected('mlp'));
    expect(model.graph.initializers.every((t) => t.data.length > 0)).toBe(true);
  });

  it('every dtype, raw and typed; a Constant tensor; every attribute type; symbolic and unknown dims', async () => {
    const { model } = await readOnnxModel(path.join(FIXTURES, 'dtypes.onnx'));
    matchesOnnx(model, expected('dtypes'));
    const byName = new Map(model.graph.initializers.map((t) => [t.name, t]));
    // raw_data and the typed fields give the same arrays for every type.
    for (const k of ['f32', 'f64', 'f16', 'i8', 'i16', 'i32', 'i64', 'u8', 'u16', 'u32', 'u64']) {
      expect(byName.get(`${k}_typed`)!.data, k).toEqual(byName.get(`${k}_raw`)!.data);
    }
    expect(byName.get('f16_raw')!.dataType).toBe(FLOAT16);
    // bfloat16 keeps its bits: 1.0, -2.5, 3.0.
    for (const k of ['bf16_raw', 'bf16_typed']) expect(byName.get(k), k).toMatchObject({ dataType: BFLOAT16, data: Uint16Array.of(0x3f80, 0xc020, 0x4040) });
    expect(byName.get('bool_raw')).toMatchObject({ dataType: BOOL, data: Uint8Array.of(1, 0, 1) });
    expect(byName.get('neg_i64')!.data).toEqual(BigInt64Array.of(-1n, -(2n ** 40n), 2n ** 62n));
    expect(byName.get('scalar')).toMatchObject({ dims: [], data: Float32Array.of(3.5) });
    expect(byName.get('empty')).toMatchObject({ dims: [0, 4], data: new Float32Array(0) });
    const node = (name: string) => model.graph.nodes.find((n) => n.name === name)!;
    expect(node('const').attrs!.value).toEqual({ tensor: { name: '', dims: [2, 3], data: Float32Array.of(0, 1, 2, 3, 4, 5) } });
    expect(node('leaky').attrs).toEqual({ alpha: { float: 0.125 } });
    expect(node('transpose').attrs).toEqual({ perm: [0, 1] });
    expect(node('resize').attrs).toEqual({ mode: { string: 'nearest' }, coordinate_transformation_mode: { string: 'asymmetric' } });
    expect(node('resize').inputs).toEqual(['t', '', 'scales']);
    // 2^62 is past 2^53: held as MAX_SAFE_INTEGER (see AttrValue).
    expect(node('custom')).toMatchObject({ domain: 'graft.test', attrs: { floats: { floats: [0.5, -2] }, strings: { strings: ['a', 'bé'] }, big: Number.MAX_SAFE_INTEGER, neg: -5 } });
    const branch = node('branch').attrs!;
    expect(Object.keys(branch).sort()).toEqual(['else_branch', 'then_branch']);
    expect((branch.then_branch as { graph: Uint8Array }).graph.length).toBeGreaterThan(10);
    expect(model.graph.outputs.map((o) => o.shape)).toEqual([['batch', null], [2, 3], undefined]);
    expect(model.graph.valueInfo).toEqual([{ name: 'sum', type: FLOAT, shape: ['batch', 3] }]);
  });

  it('reads back what it writes: read → encodeOnnxModel → read gives the same model', async () => {
    for (const name of ['conv', 'mlp', 'dtypes']) {
      const { model } = await readOnnxModel(path.join(FIXTURES, `${name}.onnx`));
      const again = await decodeOnnxModel(encodeOnnxModel(model), path.join(FIXTURES, `${name}-again.onnx`));
      expect(again.model, name).toEqual(model);
    }
  });

  it('the re-written conv net computes what the exported one does in onnxruntime', async () => {
    const ort = await import('onnxruntime-node');
    const file = path.join(FIXTURES, 'conv.onnx');
    const { model } = await readOnnxModel(file);
    const x = new ort.Tensor('float32', Float32Array.from({ length: 2 * 3 * 8 * 8 }, (_, i) => Math.sin(i)), [2, 3, 8, 8]);
    const run = async (bytes: Uint8Array) => ((await (await ort.InferenceSession.create(bytes)).run({ input: x })).logits!.data as Float32Array);
    const original = await run(readFileSync(file));
    expect(original.length).toBe(10);
    expect(await run(encodeOnnxModel(model))).toEqual(original);
  });

  it('reads every fixture under fixtures/onnx (both PyTorch exporters, opsets 13 to 26)', async () => {
    const dir = path.join(import.meta.dirname, '../../../fixtures/onnx');
    const files = readdirSync(dir).filter((f) => f.endsWith('.onnx'));
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) {
      const { model } = await readOnnxModel(path.join(dir, f));
      expect(model.graph.nodes.length, f).toBeGreaterThan(0);
      expect(model.graph.initializers.length, f).toBeGreaterThan(0);
    }
  });
});

describe('graft writes, graft reads', () => {
  function graftGraph(alpha = 0.2): OnnxGraph {
    const b = new GraphBuilder();
    const x = b.input('x', ['batch', 3, 4]);
    const labels = b.input('labels', ['batch'], INT64);
    const half = b.scalar(0.5);
    const shape = b.ints([1, -1, 9007199254740991]);
    const y = b.op('Conv', [x, half], { group: 1, pads: [0, 0, -3], alpha: { float: alpha } });
    b.output(b.op('Reshape', [y, shape, labels]), 'out', ['batch', 2]);
    return b.graph;
  }

  it('the same graph comes back (outputs get the FLOAT type the writer gives them)', async () => {
    // 0.25 is exact in float32, as attributes are stored.
    const graph = graftGraph(0.25);
    const { model } = await decodeOnnxModel(encodeModel(graph, 'model_name'), 'graft.onnx');
    expect(model).toEqual({ irVersion: 8, producerName: 'graft', opsets: [{ domain: '', version: 17 }], graphName: 'model_name', graph: { ...graph, outputs: graph.outputs.map((o) => ({ ...o, type: FLOAT })) } });
  });

  it("the writer's bytes for what graft wrote before the reader are unchanged", () => {
    const bytes = encodeModel(graftGraph(), 'model_name');
    expect([createHash('sha256').update(bytes).digest('hex'), bytes.length]).toEqual(['01818881dff978557689d2ce0d748e3a9918d9cbf57e2221743790f8ec97814d', 335]);
  });
});
