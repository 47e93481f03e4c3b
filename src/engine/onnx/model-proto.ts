import { ProtoWriter } from './protobuf.js';

/** ONNX element types (TensorProto.DataType). */
export const FLOAT = 1;
export const UINT8 = 2;
export const INT8 = 3;
export const UINT16 = 4;
export const INT16 = 5;
export const INT32 = 6;
export const INT64 = 7;
export const BOOL = 9;
export const FLOAT16 = 10;
export const DOUBLE = 11;
export const UINT32 = 12;
export const UINT64 = 13;
export const BFLOAT16 = 16;

/** The TensorProto.DataType values graft holds in memory, by name (for messages and inspect). */
export const DATA_TYPE_NAMES: Readonly<Record<number, string>> = {
  [FLOAT]: 'float32', [UINT8]: 'uint8', [INT8]: 'int8', [UINT16]: 'uint16', [INT16]: 'int16', [INT32]: 'int32',
  [INT64]: 'int64', [BOOL]: 'bool', [FLOAT16]: 'float16', [DOUBLE]: 'float64', [UINT32]: 'uint32', [UINT64]: 'uint64',
  [BFLOAT16]: 'bfloat16',
};

/**
 * An attribute value. Plain numbers are INT and INTS (int64 past 2^53 is held as ±MAX_SAFE_INTEGER,
 * which every op reads the same: "to the end"); the wrapped forms are the other types. `graph` is an
 * If/Loop/Scan body kept as its encoded GraphProto: carried through, never trained.
 */
export type AttrValue =
  | number
  | number[]
  | { float: number }
  | { floats: number[] }
  | { string: string }
  | { strings: string[] }
  | { tensor: OnnxTensor }
  | { graph: Uint8Array };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
  /** The node's name; exporters name nodes after their module path (`/layer4/layer4.1/conv2/Conv`). */
  name?: string;
  /** The operator set domain; absent or '' is the default ONNX domain. */
  domain?: string;
}

/**
 * A graph input, output or value_info entry. A string dimension is symbolic (dim_param, e.g. the
 * batch); null is a dimension of unknown size with no name. `shape` absent: the rank is unknown.
 */
export interface OnnxValue {
  name: string;
  /** TensorProto.DataType; default FLOAT. */
  type?: number;
  shape?: Array<number | string | null>;
}

/** A tensor held in memory: an initializer, or the value of a Constant node's attribute. */
export interface OnnxTensor {
  name: string;
  dims: number[];
  /**
   * The element values. Float16 and bfloat16 are their raw bits in a Uint16Array; bool is a
   * Uint8Array of 0/1.
   */
  data: Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;
  /** TensorProto.DataType, when it is not the one `data`'s class implies (FLOAT16, BFLOAT16, BOOL). */
  dataType?: number;
}

/** Kept under its first name: initializers are named tensors. */
export type OnnxInitializer = OnnxTensor;

export interface OnnxGraph {
  nodes: OnnxNode[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  initializers: OnnxInitializer[];
  /** Types and shapes of intermediate values, as the exporter recorded them. */
  valueInfo?: OnnxValue[];
}

/** A whole ModelProto: the graph and what the file says about it. */
export interface OnnxModel {
  irVersion: number;
  producerName?: string;
  producerVersion?: string;
  /** opset_import: one version per operator-set domain ('' is the default ONNX domain). */
  opsets: Array<{ domain: string; version: number }>;
  graphName: string;
  graph: OnnxGraph;
}

/** Opset 17: everything graft emits exists there, and every onnxruntime since 1.13 runs it. */
const OPSET = 17;
/** IR version 8 goes with opset 17. */
const IR_VERSION = 8;

/** The element type `data`'s class stands for, when `dataType` does not say otherwise. */
export function tensorDataType(t: Pick<OnnxTensor, 'data' | 'dataType'>): number {
  if (t.dataType !== undefined) return t.dataType;
  const d = t.data;
  if (d instanceof Float32Array) return FLOAT;
  if (d instanceof BigInt64Array) return INT64;
  if (d instanceof Float64Array) return DOUBLE;
  if (d instanceof Int32Array) return INT32;
  if (d instanceof Int16Array) return INT16;
  if (d instanceof Int8Array) return INT8;
  if (d instanceof Uint8Array) return UINT8;
  if (d instanceof Uint16Array) return UINT16;
  if (d instanceof Uint32Array) return UINT32;
  return UINT64;
}

/** Serialises a graph as an ONNX ModelProto (field numbers from onnx.proto), as graft writes its own. */
export function encodeModel(graph: OnnxGraph, name = 'graft'): Uint8Array {
  return encodeOnnxModel({ irVersion: IR_VERSION, producerName: 'graft', opsets: [{ domain: '', version: OPSET }], graphName: name, graph });
}

/** Serialises a whole model, e.g. one read by the ONNX reader, keeping its IR version and opsets. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const m = new ProtoWriter().int(1, model.irVersion);
  if (model.producerName !== undefined) m.string(2, model.producerName);
  if (model.producerVersion !== undefined) m.string(3, model.producerVersion);
  m.message(7, graphWriter(model.graph, model.graphName));
  for (const o of model.opsets) m.message(8, new ProtoWriter().string(1, o.domain).int(2, o.version));
  return m.finish();
}

/** A GraphProto alone: the bytes of a Loop or If body attribute (`{ graph }`). */
export function encodeGraph(graph: OnnxGraph, name: string): Uint8Array {
  return graphWriter(graph, name).finish();
}

function graphWriter(graph: OnnxGraph, name: string): ProtoWriter {
  const g = new ProtoWriter();
  for (const n of graph.nodes) g.message(1, encodeNode(n));
  g.string(2, name);
  for (const t of graph.initializers) g.message(5, encodeTensor(t));
  for (const v of graph.inputs) g.message(11, encodeValue(v));
  for (const v of graph.outputs) g.message(12, encodeValue(v));
  for (const v of graph.valueInfo ?? []) g.message(13, encodeValue(v));
  return g;
}

function encodeNode(n: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name !== undefined) w.string(3, n.name);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, encodeAttr(k, v));
  if (n.domain !== undefined) w.string(7, n.domain);
  return w;
}

// AttributeProto.AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4, GRAPH 5, FLOATS 6, INTS 7, STRINGS 8.
function encodeAttr(name: string, v: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (Array.isArray(v)) {
    for (const x of v) w.int(8, x);
    return w.int(20, 7);
  }
  if (typeof v === 'object') {
    if ('float' in v) return w.float(2, v.float).int(20, 1);
    if ('floats' in v) {
      for (const x of v.floats) w.float(7, x);
      return w.int(20, 6);
    }
    if ('string' in v) return w.string(4, v.string).int(20, 3);
    if ('strings' in v) {
      for (const s of v.strings) w.string(9, s);
      return w.int(20, 8);
    }
    if ('tensor' in v) return w.message(5, encodeTensor(v.tensor)).int(20, 4);
    return w.bytes(6, v.graph).int(20, 5);
  }
  if (!Number.isInteger(v)) throw new Error(`attribute ${name}: integer expected, got ${v} (wrap floats as { float })`);
  return w.int(3, v).int(20, 2);
}

function encodeValue(v: OnnxValue): ProtoWriter {
  const tensorType = new ProtoWriter().int(1, v.type ?? FLOAT);
  if (v.shape) {
    const shape = new ProtoWriter();
    for (const d of v.shape) {
      const dim = new ProtoWriter();
      if (typeof d === 'string') dim.string(2, d);
      else if (d !== null) dim.int(1, d);
      shape.message(1, dim);
    }
    tensorType.message(2, shape);
  }
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

function encodeTensor(t: OnnxTensor): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.int(1, d);
  w.int(2, tensorDataType(t));
  // A Constant's value tensor may be unnamed; initializers always have a name.
  if (t.name !== '') w.string(8, t.name);
  // raw_data is little-endian, as typed arrays are on every platform Node runs on.
  return w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}
