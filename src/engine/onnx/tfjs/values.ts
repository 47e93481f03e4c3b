import * as tf from '@tensorflow/tfjs-core';
import { GraftError } from '../../../errors.js';
import { BFLOAT16, BOOL, DATA_TYPE_NAMES, DOUBLE, FLOAT, FLOAT16, INT16, INT32, INT64, INT8, UINT16, UINT32, UINT64, UINT8, tensorDataType, type OnnxTensor } from '../model-proto.js';

export const INT32_MAX = 2 ** 31 - 1;
export const INT32_MIN = -(2 ** 31);
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * The TF.js dtype an ONNX element type is carried as. TF.js has float32, int32 and bool only:
 * every float becomes float32 and every integer int32 (with a range check where values are read).
 */
export function tfDtype(onnxType: number, label: string): 'float32' | 'int32' | 'bool' {
  if (onnxType === FLOAT || onnxType === DOUBLE || onnxType === FLOAT16 || onnxType === BFLOAT16) return 'float32';
  if (onnxType === BOOL) return 'bool';
  if ([INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64].includes(onnxType)) return 'int32';
  throw new GraftError('UNSUPPORTED_OP', `${label}: element type ${DATA_TYPE_NAMES[onnxType] ?? onnxType} has no TF.js counterpart (received type ${onnxType}); TF.js carries float32, int32 and bool. Run this model with onnxruntime (--engine onnxruntime).`);
}

/**
 * An int64 value as int32. INT64_MAX / INT64_MIN (and the ±MAX_SAFE_INTEGER the attribute reader
 * holds them as) mean "to the end" in Slice and friends: they become the int32 extremes, which
 * every op clamps the same way. Any other value past int32 cannot be carried and is refused.
 */
export function toInt32(v: bigint | number, label: string): number {
  const big = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
  if (big >= INT64_MAX - 1n || (typeof v === 'number' && v >= Number.MAX_SAFE_INTEGER)) return INT32_MAX;
  if (big <= INT64_MIN + 1n || (typeof v === 'number' && v <= -Number.MAX_SAFE_INTEGER)) return INT32_MIN;
  if (big > BigInt(INT32_MAX) || big < BigInt(INT32_MIN)) {
    throw new GraftError('UNSUPPORTED_OP', `${label} holds the integer ${big}, outside int32 [${INT32_MIN}, ${INT32_MAX}]; TF.js has no int64, so graft carries ONNX integers as int32 (only INT64_MAX/INT64_MIN, meaning "to the end", are mapped). Run this model with onnxruntime (--engine onnxruntime).`);
  }
  return Number(big);
}

/** An initializer or Constant value as a TF.js tensor: float32, int32 (int64 checked) or bool. */
export function onnxTensorToTf(t: OnnxTensor, label = `tensor ${JSON.stringify(t.name)}`): tf.Tensor {
  const type = tensorDataType(t);
  const dtype = tfDtype(type, label);
  const d = t.data;
  if (dtype === 'bool') return tf.tensor(Int32Array.from(d as Uint8Array, (x) => (x ? 1 : 0)), t.dims, 'bool');
  if (dtype === 'int32') {
    const out = d instanceof BigInt64Array || d instanceof BigUint64Array ? Int32Array.from(d, (x) => toInt32(x, label)) : Int32Array.from(d as ArrayLike<number>, (x) => toInt32(x, label));
    return tf.tensor(out, t.dims, 'int32');
  }
  if (type === FLOAT16) return tf.tensor(Float32Array.from(d as Uint16Array, halfToFloat), t.dims, 'float32');
  if (type === BFLOAT16) {
    const bits = Uint32Array.from(d as Uint16Array, (x) => x << 16);
    return tf.tensor(new Float32Array(bits.buffer), t.dims, 'float32');
  }
  return tf.tensor(d instanceof Float32Array ? d : Float32Array.from(d as Float64Array), t.dims, 'float32');
}

/** IEEE half precision bits as a number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** An integer tensor's values (shapes, axes, indices): read synchronously, which CPU and wasm allow. */
export function intsOf(t: tf.Tensor): number[] {
  return Array.from(t.dataSync() as ArrayLike<number>, (x) => Math.trunc(x));
}

/** A scalar's value. */
export function scalarOf(t: tf.Tensor): number {
  return (t.dataSync() as ArrayLike<number>)[0]!;
}
