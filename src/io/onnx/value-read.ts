import { describeValue } from '../../errors.js';
import type { OnnxValue } from '../../engine/onnx/model-proto.js';
import { LENGTH_DELIMITED, type ProtoReader, VARINT } from '../../engine/onnx/proto-reader.js';
import { OnnxFormatError } from './format-error.js';
import { MAX_RANK } from './tensor-read.js';

/** What a ValueInfoProto says: a tensor's name, element type and shape, or that it is no tensor. */
export type ReadValue = { value: OnnxValue; kind: 'tensor' } | { value: { name: string }; kind: string };

// TypeProto's value oneof: tensor_type 1, sequence_type 4, map_type 5, sparse_tensor_type 8, optional_type 9.
const OTHER_KINDS: Readonly<Record<number, string>> = { 4: 'a sequence', 5: 'a map', 8: 'a sparse tensor', 9: 'an optional' };

/** Reads a ValueInfoProto (name 1, type 2). */
export function readValueInfo(r: ProtoReader, where: string): ReadValue {
  let name = '';
  let kind = 'untyped';
  let type: number | undefined;
  let shape: OnnxValue['shape'];
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === LENGTH_DELIMITED) name = r.string();
    else if (field === 2 && wire === LENGTH_DELIMITED) {
      const t = r.message();
      while (!t.done()) {
        const f = t.tag();
        if (f.field === 1 && f.wire === LENGTH_DELIMITED) {
          kind = 'tensor';
          ({ type, shape } = readTensorType(t.message(), () => `${where} ${describeValue(name)}`));
        } else {
          if (OTHER_KINDS[f.field]) kind = OTHER_KINDS[f.field]!;
          t.skip(f.wire);
        }
      }
    } else r.skip(wire);
  }
  if (kind !== 'tensor') return { value: { name }, kind };
  const value: OnnxValue = { name, type: type ?? 0 };
  if (shape) value.shape = shape;
  return { value, kind };
}

// TypeProto.Tensor: elem_type 1, shape 2. TensorShapeProto: dim 1. Dimension: dim_value 1, dim_param 2.
function readTensorType(r: ProtoReader, where: () => string): { type: number | undefined; shape: OnnxValue['shape'] } {
  let type: number | undefined;
  let shape: OnnxValue['shape'];
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === VARINT) type = r.int32();
    else if (field === 2 && wire === LENGTH_DELIMITED) {
      shape = [];
      const s = r.message();
      while (!s.done()) {
        const f = s.tag();
        if (f.field === 1 && f.wire === LENGTH_DELIMITED) {
          shape.push(readDim(s.message(), where));
          if (shape.length > MAX_RANK) throw new OnnxFormatError(`${where()} has more than ${MAX_RANK} dimensions`);
        } else s.skip(f.wire);
      }
    } else r.skip(wire);
  }
  return { type, shape };
}

function readDim(r: ProtoReader, where: () => string): number | string | null {
  let dim: number | string | null = null;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === VARINT) {
      const v = r.int64();
      if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new OnnxFormatError(`${where()} has a dimension of ${v}`);
      dim = Number(v);
    } else if (field === 2 && wire === LENGTH_DELIMITED) dim = r.string();
    else r.skip(wire);
  }
  return dim;
}
