import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/**
 * A training-mode forward pass that decides `training` per layer. TF.js's own `fit` passes one
 * flag to every layer and ignores `trainable` for BatchNormalization, so a frozen BatchNorm would
 * keep updating its moving statistics; and a model nested inside another loses the flag entirely.
 * Here a frozen BatchNorm runs in inference mode, and nested models are walked recursively.
 */
export function forward(model: tfl.LayersModel, input: tf.Tensor, training: boolean): tf.Tensor {
  const values = new Map<number, tf.Tensor>();
  const [modelInput] = model.inputs;
  if (model.inputs.length !== 1 || model.outputs.length !== 1 || !modelInput) {
    throw new Error(`graft trains single-input, single-output models; ${model.name} has ${model.inputs.length} inputs and ${model.outputs.length} outputs`);
  }
  values.set(modelInput.id, input);
  // model.layers is in topological order (TF.js sorts a container's layers by depth).
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    for (const node of layer.inboundNodes) {
      const ins = node.inputTensors.map((t) => values.get(t.id));
      if (ins.length === 0 || ins.some((t) => t === undefined)) continue; // not this model's node
      const args = ins as tf.Tensor[];
      const arg = args.length === 1 ? args[0]! : args;
      const out = layerForward(layer, arg, training);
      const outs = Array.isArray(out) ? out : [out];
      node.outputTensors.forEach((t, i) => values.set(t.id, outs[i]!));
    }
  }
  const [modelOutput] = model.outputs;
  const result = modelOutput ? values.get(modelOutput.id) : undefined;
  if (!result) throw new Error(`forward pass of ${model.name} did not reach its output`);
  return result;
}

function layerForward(layer: tfl.layers.Layer, arg: tf.Tensor | tf.Tensor[], training: boolean): tf.Tensor | tf.Tensor[] {
  if (layer instanceof tfl.LayersModel) {
    if (Array.isArray(arg)) throw new Error(`nested model ${layer.name} received several inputs`);
    return forward(layer, arg, training);
  }
  const layerTraining = training && !(isBatchNorm(layer) && !layer.trainable);
  return layer.apply(arg, { training: layerTraining }) as tf.Tensor | tf.Tensor[];
}

export function isBatchNorm(layer: tfl.layers.Layer): boolean {
  return layer.getClassName() === 'BatchNormalization';
}

/** All layers, with nested models expanded (depth-first, in order). */
export function flatLayers(model: tfl.LayersModel): tfl.layers.Layer[] {
  const out: tfl.layers.Layer[] = [];
  for (const layer of model.layers) {
    if (layer instanceof tfl.LayersModel) out.push(...flatLayers(layer));
    else out.push(layer);
  }
  return out;
}
