import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/**
 * A training-mode forward pass that decides `training` per layer. TF.js's own `fit` passes one
 * flag to every layer and ignores `trainable` for BatchNormalization, so a frozen BatchNorm would
 * keep updating its moving statistics; and a model nested inside another loses the flag entirely.
 * Here a frozen BatchNorm runs in inference mode, and nested models are walked recursively.
 * With `batchNormTraining` false (FitOptions.batchNorm 'frozen') every BatchNorm runs on its moving
 * statistics, keeping them, while γ and β of a trainable one still get gradients.
 */
export function forward(model: tfl.LayersModel, input: tf.Tensor, training: boolean, options: ForwardOptions = {}): tf.Tensor {
  return run(model, input, training, false, options).output;
}

export interface ForwardOptions {
  /** Whether a trainable BatchNorm trains (batch statistics, moving averages moved) in a training pass. Default true. */
  batchNormTraining?: boolean;
}

/**
 * Like `forward`, but stops before the output layer's softmax/sigmoid when it can, so the loss is
 * computed from logits (as Keras 3 does): a clipped-probability cross-entropy has zero gradient once
 * the output saturates, and training from scratch can then never recover. `logits` says which it got.
 */
export function forwardForLoss(model: tfl.LayersModel, input: tf.Tensor, training: boolean, options: ForwardOptions = {}): { output: tf.Tensor; logits: boolean } {
  return run(model, input, training, true, options);
}

function run(model: tfl.LayersModel, input: tf.Tensor, training: boolean, wantLogits: boolean, options: ForwardOptions): { output: tf.Tensor; logits: boolean } {
  const values = new Map<number, tf.Tensor>();
  const [modelInput] = model.inputs;
  if (model.inputs.length !== 1 || model.outputs.length !== 1 || !modelInput) {
    throw new Error(`graft trains single-input, single-output models; ${model.name} has ${model.inputs.length} inputs and ${model.outputs.length} outputs`);
  }
  values.set(modelInput.id, input);
  const [modelOutput] = model.outputs;
  let logits = false;
  // model.layers is in topological order (TF.js sorts a container's layers by depth).
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    for (const node of layer.inboundNodes) {
      const ins = node.inputTensors.map((t) => values.get(t.id));
      if (ins.length === 0 || ins.some((t) => t === undefined)) continue; // not this model's node
      const args = ins as tf.Tensor[];
      const arg = args.length === 1 ? args[0]! : args;
      const atOutput = wantLogits && node.outputTensors.some((t) => t.id === modelOutput?.id);
      let out: tf.Tensor | tf.Tensor[];
      if (atOutput && !Array.isArray(arg)) {
        const r = outputLayerForLoss(layer, arg, training, options);
        out = r.output;
        logits = r.logits;
      } else {
        out = layerForward(layer, arg, training, options);
      }
      const outs = Array.isArray(out) ? out : [out];
      node.outputTensors.forEach((t, i) => values.set(t.id, outs[i]!));
    }
  }
  const result = modelOutput ? values.get(modelOutput.id) : undefined;
  if (!result) throw new Error(`forward pass of ${model.name} did not reach its output`);
  return { output: result, logits };
}

/** TF.js's linear activation object, taken from a fresh Dense layer (the factory is not exported). */
let linear: unknown;

/** The output layer's pre-activation when its activation is softmax or sigmoid; else its output. */
function outputLayerForLoss(layer: tfl.layers.Layer, arg: tf.Tensor, training: boolean, options: ForwardOptions): { output: tf.Tensor; logits: boolean } {
  if (layer instanceof tfl.LayersModel) return run(layer, arg, training, true, options);
  const className = layer.getClassName();
  const config = layer.getConfig() as { activation?: unknown; axis?: unknown };
  const squashes = (a: unknown): boolean => a === 'softmax' || a === 'sigmoid';
  // A separate Softmax/Activation layer: its input is the logits.
  if ((className === 'Softmax' && (config.axis === undefined || config.axis === -1)) || (className === 'Activation' && squashes(config.activation))) {
    return { output: arg, logits: true };
  }
  const holder = layer as unknown as { activation?: unknown };
  if (!squashes(config.activation) || holder.activation === undefined) return { output: layerForward(layer, arg, training, options) as tf.Tensor, logits: false };
  linear ??= (tfl.layers.dense({ units: 1 }) as unknown as { activation: unknown }).activation;
  const own = holder.activation;
  holder.activation = linear;
  try {
    return { output: layerForward(layer, arg, training, options) as tf.Tensor, logits: true };
  } finally {
    holder.activation = own;
  }
}

function layerForward(layer: tfl.layers.Layer, arg: tf.Tensor | tf.Tensor[], training: boolean, options: ForwardOptions): tf.Tensor | tf.Tensor[] {
  if (layer instanceof tfl.LayersModel) {
    if (Array.isArray(arg)) throw new Error(`nested model ${layer.name} received several inputs`);
    return forward(layer, arg, training, options);
  }
  const bnTraining = options.batchNormTraining ?? true;
  const layerTraining = training && !(isBatchNorm(layer) && (!layer.trainable || !bnTraining));
  // An OnnxBlock holds BatchNorm nodes of its own: it reads the mode from this kwarg (onnx-block/layer.ts).
  return layer.apply(arg, { training: layerTraining, batchNormTraining: bnTraining }) as tf.Tensor | tf.Tensor[];
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
