import { BOOL, DOUBLE, FLOAT, FLOAT16, BFLOAT16, INT64, INT32, INT16, INT8, UINT8, UINT16, UINT32, UINT64, tensorDataType, type OnnxTensor } from '../../engine/onnx/model-proto.js';

/**
 * What static analysis knows of one tensor dimension: its size, 'N' for the symbolic batch
 * dimension (the one dimension left dynamic), or null when it is not known before run time.
 */
export type Dim = number | 'N' | null;

/** One element of a small tensor whose value is known: a number, 'N' (the batch size) or null. */
export type Scalar = number | 'N' | null;

/** What is known of a tensor before it runs. */
export interface TensorFacts {
  /** TensorProto.DataType. */
  type: number;
  /** null: not even the rank is known (an op shape inference does not cover, or past one). */
  shape: Dim[] | null;
  /**
   * The elements, row-major, when the tensor is small (≤ MAX_VALUE_ELEMENTS) and computable
   * without running the model: shapes, axes, indices, scalars. Entries may be 'N' or null.
   */
  value?: Scalar[];
}

/** Values larger than this are not tracked: folding them would grow the file, not shrink it. */
export const MAX_VALUE_ELEMENTS = 4096;

export const INTEGER_TYPES: ReadonlySet<number> = new Set([INT64, INT32, INT16, INT8, UINT8, UINT16, UINT32, UINT64, BOOL]);

/** The number of elements, when every dim is known. */
export function elementCount(shape: readonly Dim[] | null): number | null {
  if (!shape) return null;
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') return null;
    n *= d;
  }
  return n;
}

/** Product of dims: 'N' survives only multiplied by ones; anything else unknown is null. */
export function dimProduct(dims: readonly Dim[]): Dim {
  let known = 1;
  let batch = 0;
  for (const d of dims) {
    if (d === null) return null;
    if (d === 'N') batch++;
    else known *= d;
  }
  if (batch === 0) return known;
  return batch === 1 && known === 1 ? 'N' : null;
}

/** True when every element of a value is a number (it can become an initializer). */
export function isConstant(value: readonly Scalar[] | undefined): value is number[] {
  return value !== undefined && value.every((v) => typeof v === 'number');
}

/** An initializer's elements as numbers, or undefined for a large one or a 16-bit float. */
export function tensorValues(t: OnnxTensor): number[] | undefined {
  if (t.data.length > MAX_VALUE_ELEMENTS) return undefined;
  const type = tensorDataType(t);
  if (type === FLOAT16 || type === BFLOAT16) return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, (x) => Number(x));
}

export function tensorFacts(t: OnnxTensor): TensorFacts {
  const value = tensorValues(t);
  return value ? { type: tensorDataType(t), shape: [...t.dims], value } : { type: tensorDataType(t), shape: [...t.dims] };
}

/** A known value as an initializer of the given type (int64 through BigInt, floats rounded by the array). */
export function valueTensor(name: string, type: number, dims: number[], value: readonly number[]): OnnxTensor {
  switch (type) {
    case FLOAT: return { name, dims, data: Float32Array.from(value) };
    case DOUBLE: return { name, dims, data: Float64Array.from(value) };
    case INT64: return { name, dims, data: BigInt64Array.from(value, (v) => BigInt(v)) };
    case INT32: return { name, dims, data: Int32Array.from(value) };
    case INT16: return { name, dims, data: Int16Array.from(value) };
    case INT8: return { name, dims, data: Int8Array.from(value) };
    case UINT8: return { name, dims, data: Uint8Array.from(value) };
    case BOOL: return { name, dims, data: Uint8Array.from(value), dataType: BOOL };
    case UINT16: return { name, dims, data: Uint16Array.from(value) };
    case UINT32: return { name, dims, data: Uint32Array.from(value) };
    default: return { name, dims, data: BigUint64Array.from(value, (v) => BigInt(v)) };
  }
}

/** The type `valueTensor` can write (16-bit floats are not written from numbers). */
export function writableType(type: number): boolean {
  return type !== FLOAT16 && type !== BFLOAT16;
}

// Attribute readers: the shared ones.
export { floatAttr, intAttr, intsAttr, stringAttr, tensorAttr } from '../../engine/onnx/node-attrs.js';


/** A negative axis counts from the end. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Row-major strides of a fully known shape. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}
