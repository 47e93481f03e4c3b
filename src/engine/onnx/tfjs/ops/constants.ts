import * as tf from '@tensorflow/tfjs-core';
import { GraftError } from '../../../../errors.js';
import { describeNode, intAttr, need, tensorAttr } from '../attrs.js';
import { FLOAT } from '../../model-proto.js';
import { intsOf, onnxTensorToTf, scalarOf, tfDtype, toInt32 } from '../values.js';
import type { TfOpFn } from '../types.js';

/** Constant: value (a tensor), value_float(s) or value_int(s). */
const constant: TfOpFn = (node) => {
  const label = `${describeNode(node)}'s value`;
  const t = tensorAttr(node, 'value');
  if (t) return [onnxTensorToTf(t, label)];
  const a = node.attrs ?? {};
  const f = a.value_float;
  if (f && typeof f === 'object' && 'float' in f) return [tf.scalar(f.float, 'float32')];
  const fs = a.value_floats;
  if (fs && typeof fs === 'object' && 'floats' in fs) return [tf.tensor1d(fs.floats, 'float32')];
  if (typeof a.value_int === 'number') return [tf.scalar(toInt32(a.value_int, label), 'int32')];
  if (Array.isArray(a.value_ints)) return [tf.tensor1d(a.value_ints.map((v) => toInt32(v, label)), 'int32')];
  throw new GraftError('UNSUPPORTED_OP', `${describeNode(node)} carries ${JSON.stringify(Object.keys(a))}; graft's TF.js interpreter reads value, value_float(s) and value_int(s) (no sparse or string constants). Run this model with onnxruntime (--engine onnxruntime).`);
};

/** ConstantOfShape: a tensor of the given shape filled with `value`'s one element (default float 0). */
const constantOfShape: TfOpFn = (node, inputs) => {
  const shape = intsOf(need(node, inputs, 0));
  const v = tensorAttr(node, 'value');
  if (!v) return [tf.zeros(shape, 'float32')];
  const one = onnxTensorToTf(v, `${describeNode(node)}'s value`);
  const fill = scalarOf(one);
  const dtype = one.dtype as 'float32' | 'int32' | 'bool';
  one.dispose();
  return [tf.fill(shape, fill, dtype === 'bool' ? 'bool' : dtype)];
};

const range: TfOpFn = (node, inputs) => {
  const start = need(node, inputs, 0);
  const dtype = start.dtype === 'int32' ? 'int32' : 'float32';
  return [tf.range(scalarOf(start), scalarOf(need(node, inputs, 1)), scalarOf(need(node, inputs, 2)), dtype)];
};

/** Cast to float32, int32 (every ONNX integer) or bool: TF.js's three carriers. */
const cast: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const to = tfDtype(intAttr(node, 'to', FLOAT), describeNode(node));
  return [x.dtype === to ? x.clone() : tf.cast(x, to)];
};

const castLike: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  const like = need(node, inputs, 1);
  return [x.dtype === like.dtype ? x.clone() : tf.cast(x, like.dtype)];
};

export const constantOps: Record<string, TfOpFn> = { Constant: constant, ConstantOfShape: constantOfShape, Range: range, Cast: cast, CastLike: castLike };
