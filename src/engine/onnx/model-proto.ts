import { ProtoWriter } from './protobuf.js';

/** ONNX element types graft uses (TensorProto.DataType). */
export const FLOAT = 1;
export const INT64 = 7;

export type AttrValue = number | number[] | { float: number };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

/** A graph input or output: a float32 or int64 tensor; a string dimension is symbolic (the batch). */
export interface OnnxValue {
  name: string;
  type?: typeof FLOAT | typeof INT64;
  shape: Array<number | string>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  initializers: OnnxInitializer[];
}

/** Opset 17: everything graft emits exists there, and every onnxruntime since 1.13 runs it. */
const OPSET = 17;
/** IR version 8 goes with opset 17. */
const IR_VERSION = 8;

/** Serialises a graph as an ONNX ModelProto (field numbers from onnx.proto). */
export function encodeModel(graph: OnnxGraph, name = 'graft'): Uint8Array {
  const g = new ProtoWriter();
  for (const n of graph.nodes) g.message(1, encodeNode(n));
  g.string(2, name);
  for (const t of graph.initializers) g.message(5, encodeTensor(t));
  for (const v of graph.inputs) g.message(11, encodeValue(v));
  for (const v of graph.outputs) g.message(12, encodeValue(v));
  const opset = new ProtoWriter().string(1, '').int(2, OPSET);
  return new ProtoWriter().int(1, IR_VERSION).string(2, 'graft').message(7, g).message(8, opset).finish();
}

function encodeNode(n: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, encodeAttr(k, v));
  return w;
}

// AttributeProto.AttributeType: FLOAT 1, INT 2, INTS 7.
function encodeAttr(name: string, v: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (Array.isArray(v)) {
    for (const x of v) w.int(8, x);
    return w.int(20, 7);
  }
  if (typeof v === 'object') return w.float(2, v.float).int(20, 1);
  if (!Number.isInteger(v)) throw new Error(`attribute ${name}: integer expected, got ${v} (wrap floats as { float })`);
  return w.int(3, v).int(20, 2);
}

function encodeValue(v: OnnxValue): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) shape.message(1, typeof d === 'string' ? new ProtoWriter().string(2, d) : new ProtoWriter().int(1, d));
  const tensorType = new ProtoWriter().int(1, v.type ?? FLOAT).message(2, shape);
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

function encodeTensor(t: OnnxInitializer): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.data instanceof Float32Array ? FLOAT : INT64);
  w.string(8, t.name);
  // raw_data is little-endian, as typed arrays are on every platform Node runs on.
  return w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}
