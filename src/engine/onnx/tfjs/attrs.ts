import { GraftError } from '../../../errors.js';
import type { OnnxNode } from '../model-proto.js';
import { describeNode } from '../node-attrs.js';
import type * as tf from '@tensorflow/tfjs-core';

export { describeNode, floatAttr, intAttr, intsAttr, stringAttr, tensorAttr } from '../node-attrs.js';

/** The input at `index`, which the op requires. */
export function need(node: OnnxNode, inputs: ReadonlyArray<tf.Tensor | undefined>, index: number): tf.Tensor {
  const t = inputs[index];
  if (!t) {
    throw new GraftError('MODEL_CORRUPT', `${describeNode(node)} has no input ${index} (received inputs ${JSON.stringify(node.inputs)}), which ${node.op} requires. Re-export the model; the file does not follow the ONNX spec for ${node.op}.`);
  }
  return t;
}

/** A refusal for an attribute value or input form the TF.js interpreter does not cover. */
export function unsupportedForm(node: OnnxNode, what: string, received: string): GraftError {
  return new GraftError('UNSUPPORTED_OP', `${describeNode(node)}: ${what} is not supported by graft's TF.js interpreter (received ${received}). Run this model with onnxruntime (--engine onnxruntime), or re-export it without that form.`);
}

/** An axis in [-rank, rank) as its non-negative index. */
export function normAxis(node: OnnxNode, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new GraftError('MODEL_CORRUPT', `${describeNode(node)}: axis ${axis} is outside [${-rank}, ${rank}) for a tensor of rank ${rank}. Re-export the model.`);
  }
  return axis < 0 ? axis + rank : axis;
}
