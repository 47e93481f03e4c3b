import { GraftError } from '../../../errors.js';
import type { AttrValue, OnnxNode, OnnxTensor } from '../model-proto.js';
import type * as tf from '@tensorflow/tfjs-core';

// Attribute readers with the caller's (the op spec's) defaults. Kept here rather than imported
// from src/train/graph: engine/ sits below train/ and must not reach up into it.

export function intAttr(node: OnnxNode, name: string, fallback: number): number {
  const v = node.attrs?.[name];
  return typeof v === 'number' ? v : fallback;
}

export function intsAttr(node: OnnxNode, name: string): number[] | undefined {
  const v = node.attrs?.[name];
  return Array.isArray(v) ? v : undefined;
}

export function floatAttr(node: OnnxNode, name: string, fallback: number): number {
  const v: AttrValue | undefined = node.attrs?.[name];
  if (typeof v === 'number') return v;
  return v && typeof v === 'object' && 'float' in v ? v.float : fallback;
}

export function stringAttr(node: OnnxNode, name: string, fallback: string): string {
  const v = node.attrs?.[name];
  return v && typeof v === 'object' && 'string' in v ? v.string : fallback;
}

export function tensorAttr(node: OnnxNode, name: string): OnnxTensor | undefined {
  const v = node.attrs?.[name];
  return v && typeof v === 'object' && 'tensor' in v ? v.tensor : undefined;
}

/** How a node is named in messages: its name when the exporter gave one, else its first output. */
export function describeNode(node: OnnxNode): string {
  return node.name ? `${node.op} node ${JSON.stringify(node.name)}` : `${node.op} node producing ${JSON.stringify(node.outputs[0] ?? '')}`;
}

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
