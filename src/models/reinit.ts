import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng, deriveSeed } from '../engine/rng.js';
import { OnnxBlock } from './onnx-block/layer.js';

/**
 * Gives every weight fresh, seeded initial values as Keras would at construction: kernels
 * Glorot-uniform, biases and BatchNorm betas and means zero, gammas and variances one. This turns
 * a transferred model into "the same architecture from scratch" for a baseline.
 */
export function reinitialize(model: tfl.LayersModel | readonly tfl.layers.Layer[], seed: number): void {
  const rng = new Rng(deriveSeed(seed, 'reinitialize'));
  const layers = Array.isArray(model) ? model : leafLayers(model as tfl.LayersModel);
  const blocks = new Set(layers.filter((l): l is OnnxBlock => l instanceof OnnxBlock));
  for (const block of blocks) reinitializeBlock(block, rng);
  const weights = layers.filter((l) => !blocks.has(l as OnnxBlock)).flatMap((l) => l.weights);
  for (const w of weights) {
    const name = w.originalName.split('/').pop() ?? '';
    const shape = w.shape as number[];
    const value = tf.tidy(() => {
      if (/kernel/.test(name)) return tfl.initializers.glorotUniform({ seed: rng.seed() }).apply(shape) as tf.Tensor;
      if (/gamma|variance/.test(name)) return tf.ones(shape);
      return tf.zeros(shape);
    });
    w.write(value);
    value.dispose();
  }
}

/**
 * An imported ONNX block's weights by what their nodes use them for (ONNX names say nothing
 * reliable): matrices and kernels Glorot-uniform over PyTorch's layouts ([out, in, kh, kw], or
 * [a, b]), normalisation scales and running variances one, everything else (biases, shifts,
 * running means) zero — Keras's choices, as for every other layer.
 */
function reinitializeBlock(block: OnnxBlock, rng: Rng): void {
  const ones = new Set<string>();
  const kernels = new Set<string>();
  for (const n of block.nodes) {
    const at = (i: number): string | undefined => n.inputs[i];
    if (n.op === 'BatchNormalization') [at(1), at(4)].forEach((t) => t && ones.add(t));
    if (n.op === 'LayerNormalization' || n.op === 'InstanceNormalization' || n.op === 'GroupNormalization') [at(1)].forEach((t) => t && ones.add(t));
    if (['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'Gather'].includes(n.op)) n.inputs.forEach((t) => kernels.add(t));
  }
  block.spec.weights.forEach((w, i) => {
    const shape = w.dims;
    const value = tf.tidy(() => {
      if (kernels.has(w.name) && shape.length >= 2) {
        const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
        const limit = Math.sqrt(6 / ((shape[0]! + shape[1]!) * receptive));
        return tf.randomUniform(shape, -limit, limit, 'float32', rng.seed());
      }
      return ones.has(w.name) ? tf.ones(shape) : tf.zeros(shape);
    });
    block.variable(i).write(value);
    value.dispose();
  });
}

/** The layers of a model, nested models' layers in their place. */
function leafLayers(model: tfl.LayersModel): tfl.layers.Layer[] {
  return model.layers.flatMap((l) => (l instanceof tfl.LayersModel ? leafLayers(l) : [l]));
}
