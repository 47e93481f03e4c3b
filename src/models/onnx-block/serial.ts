/**
 * A piece of an ONNX graph as plain JSON, so that it travels inside a TF.js model.json (the
 * OnnxBlock layer's config) and comes back unchanged. Weights do not travel here: they are the
 * layer's TF.js weights (weights.bin). Constants (shapes, indices, scalars) do, as number lists.
 */
import { BOOL, DOUBLE, FLOAT, INT32, INT64, tensorDataType, type AttrValue, type OnnxNode, type OnnxTensor } from '../../engine/onnx/model-proto.js';
import { GraftError } from '../../errors.js';

export type JsonAttr = number | number[] | { float: number } | { floats: number[] } | { string: string } | { strings: string[] } | { tensor: JsonTensor };

export interface JsonNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, JsonAttr>;
}

export interface JsonTensor {
  name: string;
  dims: number[];
  /** TensorProto.DataType: float32, float64, int32, int64 or bool. */
  dataType: number;
  values: number[];
}

/** Constants held as JSON numbers; a block with a bigger constant keeps it as a (non-trainable) weight instead. */
const JSON_TYPES = new Set([FLOAT, DOUBLE, INT32, INT64, BOOL]);

export function tensorToJson(t: OnnxTensor, where: string): JsonTensor {
  const dataType = tensorDataType(t);
  if (!JSON_TYPES.has(dataType)) throw new GraftError('BAD_ARGUMENT', `${where}: the constant ${JSON.stringify(t.name)} is of a type graft does not carry in a model (type ${dataType}); float32, float64, int32, int64 and bool are.`);
  const values = Array.from(t.data as ArrayLike<number | bigint>, (v) => {
    const n = Number(v);
    // int64 past 2^53 only appears as "to the end" sentinels (Slice): ±MAX_SAFE_INTEGER reads the same.
    return Number.isSafeInteger(n) || !Number.isInteger(n) ? n : Math.sign(n) * Number.MAX_SAFE_INTEGER;
  });
  return { name: t.name, dims: [...t.dims], dataType, values };
}

export function tensorFromJson(j: JsonTensor): OnnxTensor {
  const n = j.dims.reduce((a, b) => a * b, 1);
  if (j.values.length !== n) throw new GraftError('MODEL_CORRUPT', `The ONNX block constant ${JSON.stringify(j.name)} holds ${j.values.length} values for shape [${j.dims.join(', ')}] (${n}). The model file is damaged; export it again.`);
  switch (j.dataType) {
    case FLOAT: return { name: j.name, dims: [...j.dims], data: Float32Array.from(j.values) };
    case DOUBLE: return { name: j.name, dims: [...j.dims], data: Float64Array.from(j.values) };
    case INT32: return { name: j.name, dims: [...j.dims], data: Int32Array.from(j.values) };
    case INT64: return { name: j.name, dims: [...j.dims], data: BigInt64Array.from(j.values, (v) => BigInt(v)) };
    case BOOL: return { name: j.name, dims: [...j.dims], data: Uint8Array.from(j.values), dataType: BOOL };
    default: throw new GraftError('MODEL_CORRUPT', `The ONNX block constant ${JSON.stringify(j.name)} has type ${j.dataType}, which graft never writes. The model file is damaged; export it again.`);
  }
}

export function nodeToJson(n: OnnxNode, where: string): JsonNode {
  if (n.domain) throw new GraftError('BAD_ARGUMENT', `${where}: node ${n.name ?? n.op} is in the custom domain ${JSON.stringify(n.domain)}; graft runs only standard ONNX ops.`);
  const j: JsonNode = { op: n.op, inputs: [...n.inputs], outputs: [...n.outputs] };
  if (n.name !== undefined) j.name = n.name;
  if (n.attrs && Object.keys(n.attrs).length > 0) {
    j.attrs = {};
    for (const [k, v] of Object.entries(n.attrs)) j.attrs[k] = attrToJson(v, `${where}, node ${n.name ?? n.op}, attribute ${k}`);
  }
  return j;
}

export function nodeFromJson(j: JsonNode): OnnxNode {
  const n: OnnxNode = { op: j.op, inputs: [...j.inputs], outputs: [...j.outputs] };
  if (j.name !== undefined) n.name = j.name;
  if (j.attrs) {
    n.attrs = {};
    for (const [k, v] of Object.entries(j.attrs)) n.attrs[k] = typeof v === 'object' && !Array.isArray(v) && 'tensor' in v ? { tensor: tensorFromJson(v.tensor) } : (v as AttrValue);
  }
  return n;
}

function attrToJson(v: AttrValue, where: string): JsonAttr {
  if (typeof v === 'number' || Array.isArray(v)) return v;
  if ('graph' in v) throw new GraftError('BAD_ARGUMENT', `${where} holds a subgraph (If/Loop/Scan); graft cannot train or carry control flow. Cut the model before it.`);
  if ('tensor' in v) return { tensor: tensorToJson(v.tensor, where) };
  return v;
}
