import { describeValue } from '../../errors.js';
import { BFLOAT16, BOOL, DATA_TYPE_NAMES, DOUBLE, FLOAT, FLOAT16, INT16, INT32, INT64, INT8, UINT16, UINT32, UINT64, UINT8, type OnnxTensor } from '../../engine/onnx/model-proto.js';
import { FIXED32, FIXED64, LENGTH_DELIMITED, ProtoReader, VARINT } from '../../engine/onnx/proto-reader.js';
import { OnnxFormatError } from './format-error.js';

/** Bytes one element of each type graft reads takes in memory. */
export const ELEMENT_BYTES: Readonly<Record<number, number>> = {
  [FLOAT]: 4, [UINT8]: 1, [INT8]: 1, [UINT16]: 2, [INT16]: 2, [INT32]: 4, [INT64]: 8, [BOOL]: 1,
  [FLOAT16]: 2, [DOUBLE]: 8, [UINT32]: 4, [UINT64]: 8, [BFLOAT16]: 2,
};

/** TensorProto.DataType values graft cannot hold, by name, for the refusal. */
const OTHER_TYPES: Readonly<Record<number, string>> = {
  0: 'undefined', 8: 'string', 14: 'complex64', 15: 'complex128', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz',
  19: 'float8e5m2', 20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4', 23: 'float4e2m1',
};

/**
 * The most bytes one tensor may take: Node's typed arrays hold up to 4 GiB, and a model's weights
 * come from a file graft reads whole (READ_LIMITS.blob), so nothing larger can be genuine.
 */
export const MAX_TENSOR_BYTES = 2 * 2 ** 30 - 1;

/** More dimensions than any op handles (onnxruntime's kernels stop at 8 or so): a damaged file. */
export const MAX_RANK = 64;

/** Where an externally stored tensor's bytes are (TensorProto.external_data). */
export interface ExternalRef {
  location: string;
  offset: number;
  /** Absent: to the end of the file. */
  length: number | undefined;
}

/** A tensor whose values still have to be read from an external file into `tensor.data`. */
export interface PendingTensor {
  tensor: OnnxTensor;
  ref: ExternalRef;
  /** dims product × element size: what the file must supply. */
  bytes: number;
}

export type TypedData = OnnxTensor['data'];

/** An empty array of the class that holds `dataType`, sized for `n` elements. */
export function allocate(dataType: number, n: number): TypedData {
  switch (dataType) {
    case FLOAT: return new Float32Array(n);
    case DOUBLE: return new Float64Array(n);
    case INT64: return new BigInt64Array(n);
    case INT32: return new Int32Array(n);
    case INT16: return new Int16Array(n);
    case INT8: return new Int8Array(n);
    case UINT32: return new Uint32Array(n);
    case UINT64: return new BigUint64Array(n);
    case UINT16: case FLOAT16: case BFLOAT16: return new Uint16Array(n);
    default: return new Uint8Array(n); // UINT8, BOOL
  }
}

/** Little-endian bytes (raw_data, an external file) copied into an aligned array of `dataType`. */
export function fromLittleEndian(dataType: number, bytes: Uint8Array): TypedData {
  const out = allocate(dataType, bytes.length / ELEMENT_BYTES[dataType]!);
  // Typed arrays are little-endian on every platform Node runs on, so a byte copy is a decode.
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** dims as numbers, their product checked against MAX_TENSOR_BYTES before anything is allocated. */
function elementCount(dims: readonly bigint[], dataType: number, where: string): { dims: number[]; count: number } {
  let count = 1;
  const out: number[] = [];
  for (const d of dims) {
    if (d < 0n) throw new OnnxFormatError(`${where} has a negative dimension ${d}`);
    if (d > BigInt(MAX_TENSOR_BYTES)) throw new OnnxFormatError(`${where} has a dimension of ${d}, more than any tensor graft can hold`);
    out.push(Number(d));
    count *= Number(d);
  }
  // A zero dimension makes an empty tensor whatever the others say; check the rest anyway.
  const nonZero = out.filter((d) => d !== 0).reduce((a, b) => a * b, 1);
  const bytes = nonZero * ELEMENT_BYTES[dataType]!;
  if (bytes > MAX_TENSOR_BYTES) {
    throw new OnnxFormatError(`${where} has dims [${out.join(', ')}]: ${bytes.toExponential(2)} bytes of ${DATA_TYPE_NAMES[dataType]}, more than the ${MAX_TENSOR_BYTES + 1} bytes graft allows one tensor`);
  }
  return { dims: out, count };
}

/** The repeated field a type's values sit in when raw_data is not used, and how each is encoded. */
function typedField(dataType: number): { field: number; wire: typeof VARINT | typeof FIXED32 | typeof FIXED64 } {
  if (dataType === FLOAT) return { field: 4, wire: FIXED32 };
  if (dataType === INT64) return { field: 7, wire: VARINT };
  if (dataType === DOUBLE) return { field: 10, wire: FIXED64 };
  if (dataType === UINT32 || dataType === UINT64) return { field: 11, wire: VARINT };
  return { field: 5, wire: VARINT }; // int32_data: every narrower integer, bool, and float16/bfloat16 bits
}

// TensorProto fields: dims 1, data_type 2, segment 3, float_data 4, int32_data 5, string_data 6,
// int64_data 7, name 8, raw_data 9, double_data 10, uint64_data 11, doc_string 12,
// external_data 13, data_location 14.
const DATA_FIELDS = new Set([4, 5, 6, 7, 10, 11]);

/**
 * Decodes a TensorProto (`bytes` is the message). A tensor stored externally comes back with an
 * empty array and a PendingTensor that says where its bytes are; `where` names it in errors.
 */
export function readTensor(bytes: Uint8Array, depth: number, where: string): { tensor: OnnxTensor; pending?: PendingTensor } {
  const r = new ProtoReader(bytes, depth);
  const dims: bigint[] = [];
  let dataType = 0;
  let name = '';
  let raw: Uint8Array | undefined;
  let external = false;
  const entries = new Map<string, string>();
  const dataFields = new Set<number>();
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) {
      r.repeated(wire, VARINT, () => dims.push(r.int64()));
      if (dims.length > MAX_RANK) throw new OnnxFormatError(`${where} has more than ${MAX_RANK} dimensions`);
    }
    else if (field === 2 && wire === VARINT) dataType = r.int32();
    else if (field === 8 && wire === LENGTH_DELIMITED) name = r.string();
    else if (field === 9 && wire === LENGTH_DELIMITED) raw = r.bytes();
    else if (field === 13 && wire === LENGTH_DELIMITED) readEntry(r.message(), entries);
    else if (field === 14 && wire === VARINT) external = r.int32() === 1;
    else if (field === 3 && wire === LENGTH_DELIMITED) throw new OnnxFormatError(`${where} is a segment of a larger tensor (TensorProto.segment), which graft does not read`);
    else {
      if (DATA_FIELDS.has(field)) dataFields.add(field);
      r.skip(wire);
    }
  }
  const label = name ? `${where} ${describeValue(name)}` : where;
  if (ELEMENT_BYTES[dataType] === undefined) {
    const typeName = OTHER_TYPES[dataType] ?? `data type ${dataType}`;
    throw new OnnxFormatError(`${label} holds ${typeName} values; graft reads float32, float16, bfloat16, float64, int8/16/32/64, uint8/16/32/64 and bool tensors`);
  }
  const { dims: shape, count } = elementCount(dims, dataType, label);
  const size = count * ELEMENT_BYTES[dataType]!;
  const tensor: OnnxTensor = { name, dims: shape, data: allocate(dataType, 0) };
  if (dataType === FLOAT16 || dataType === BFLOAT16 || dataType === BOOL) tensor.dataType = dataType;
  const held = [raw !== undefined && 'raw_data', dataFields.size > 0 && 'typed values', external && 'external data'].filter(Boolean);
  if (held.length > 1) throw new OnnxFormatError(`${label} holds its values twice (${held.join(' and ')}); a tensor has exactly one`);
  if (external) return { tensor, pending: { tensor, ref: externalRef(entries, label), bytes: size } };
  if (raw !== undefined) {
    if (raw.length !== size) throw new OnnxFormatError(`${label} has dims [${shape.join(', ')}] (${size} bytes of ${DATA_TYPE_NAMES[dataType]}) but ${raw.length} bytes of raw_data`);
    tensor.data = fromLittleEndian(dataType, raw);
    return { tensor };
  }
  tensor.data = readTypedValues(bytes, depth, dataType, shape, count, label);
  return { tensor };
}

/** Reads the repeated *_data field, after counting its elements, so a short field allocates nothing. */
function readTypedValues(bytes: Uint8Array, depth: number, dataType: number, shape: number[], count: number, label: string): TypedData {
  const { field: want, wire: scalar } = typedField(dataType);
  const counter = new ProtoReader(bytes, depth);
  let found = 0;
  while (!counter.done()) {
    const { field, wire } = counter.tag();
    if (field === want) found += counter.repeated(wire, scalar, () => counter.skip(scalar));
    else counter.skip(wire);
  }
  if (found !== count) throw new OnnxFormatError(`${label} has dims [${shape.join(', ')}] (${count} values of ${DATA_TYPE_NAMES[dataType]}) but ${found} values are stored`);
  const out = allocate(dataType, count);
  const r = new ProtoReader(bytes, depth);
  let i = 0;
  // One reader per element type, chosen once: a tensor may hold millions of values.
  const readOne =
    out instanceof Float32Array ? () => void (out[i++] = r.float())
    : out instanceof Float64Array ? () => void (out[i++] = r.double())
    : out instanceof BigInt64Array ? () => void (out[i++] = r.int64())
    : out instanceof BigUint64Array ? () => void (out[i++] = r.varint64())
    // int32_data holds narrower types widened; storing wraps them back as the file's writer meant.
    : () => void ((out as Int32Array)[i++] = r.int32());
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field !== want) {
      r.skip(wire);
      continue;
    }
    r.repeated(wire, scalar, readOne);
  }
  return out;
}

function readEntry(r: ProtoReader, into: Map<string, string>): void {
  let key = '';
  let value = '';
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === LENGTH_DELIMITED) key = r.string();
    else if (field === 2 && wire === LENGTH_DELIMITED) value = r.string();
    else r.skip(wire);
  }
  into.set(key, value);
}

function externalRef(entries: Map<string, string>, label: string): ExternalRef {
  const location = entries.get('location');
  if (!location) throw new OnnxFormatError(`${label} is stored externally but names no file (external_data has no "location")`);
  const number = (key: string): number | undefined => {
    const text = entries.get(key);
    if (text === undefined) return undefined;
    const n = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n)) throw new OnnxFormatError(`${label} has external_data ${key} ${describeValue(text)}; a byte count is expected`);
    return n;
  };
  return { location, offset: number('offset') ?? 0, length: number('length') };
}
