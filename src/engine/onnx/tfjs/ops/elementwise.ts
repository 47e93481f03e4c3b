import * as tf from '@tensorflow/tfjs-core';
import { need } from '../attrs.js';
import type { TfOpFn } from '../types.js';

/** A binary op with numpy broadcasting, which TF.js's element-wise ops share with ONNX. */
const binary = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): TfOpFn => (node, inputs) => [f(need(node, inputs, 0), need(node, inputs, 1))];
const unary = (f: (x: tf.Tensor) => tf.Tensor): TfOpFn => (node, inputs) => [f(need(node, inputs, 0))];
/** Variadic Sum/Max/Min/Mean fold their inputs pairwise (each pair broadcasts). */
const variadic = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, finish?: (t: tf.Tensor, n: number) => tf.Tensor): TfOpFn => (node, inputs) => {
  const xs = inputs.filter((t): t is tf.Tensor => t !== undefined);
  let acc = need(node, inputs, 0);
  for (const x of xs.slice(1)) acc = f(acc, x);
  if (xs.length === 1) acc = acc.clone();
  return [finish ? finish(acc, xs.length) : acc];
};

/** ONNX Pow allows an exponent of another type (e.g. int64 2); TF.js needs matching dtypes. */
const pow: TfOpFn = (node, inputs) => {
  const base = need(node, inputs, 0);
  const exponent = need(node, inputs, 1);
  return [tf.pow(base, exponent.dtype === base.dtype ? exponent : tf.cast(exponent, base.dtype))];
};

/** Identity and inference-mode Dropout pass the data through (Dropout's optional mask is all true). */
const identity: TfOpFn = (node, inputs) => {
  const x = need(node, inputs, 0);
  return node.op === 'Dropout' && node.outputs[1] ? [x.clone(), tf.cast(tf.onesLike(x), 'bool')] : [x.clone()];
};

export const elementwiseOps: Record<string, TfOpFn> = {
  Add: binary(tf.add),
  Sub: binary(tf.sub),
  Mul: binary(tf.mul),
  Div: binary(tf.div),
  Pow: pow,
  Sum: variadic(tf.add),
  Max: variadic(tf.maximum),
  Min: variadic(tf.minimum),
  Mean: variadic(tf.add, (t, n) => tf.div(t, n)),
  Neg: unary(tf.neg),
  Abs: unary(tf.abs),
  Sqrt: unary(tf.sqrt),
  Reciprocal: unary(tf.reciprocal),
  Exp: unary(tf.exp),
  Log: unary(tf.log),
  Floor: unary(tf.floor),
  Ceil: unary(tf.ceil),
  Sign: unary(tf.sign),
  Identity: identity,
  Dropout: identity,
};
