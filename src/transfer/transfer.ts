import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { Rng, deriveSeed } from '../engine/rng.js';
import { glorot, outputLayer, type OutputSpec } from '../models/output.js';
import { isPreprocessLayer } from '../models/preprocess.js';
import { OnnxBlock } from '../models/onnx-block/layer.js';
import { flattenNested, layerOutputIn } from '../models/replay.js';
import { flatLayers } from '../train/forward.js';
import { applyFreeze, type FreezePolicy } from './freeze.js';
import { resolveLayerIndex, type LayerRef } from './layer-ref.js';

export interface HeadOptions extends OutputSpec {
  /** Units of an optional hidden Dense (relu) before the output. Default none. */
  hidden?: number;
  /** Dropout before the output (after the hidden layer when there is one). Default 0 (none). */
  dropout?: number;
  /** How a feature map (rank > 2) becomes a vector: 'flatten' (the write-up's VGG head) or 'avg'. Default 'flatten'. */
  pooling?: 'flatten' | 'avg';
}

export interface TransferOptions {
  /** The last reused layer (name or index, negative from the end). Default: all but the output layer; all of a model imported from ONNX (cut when read). */
  cut?: LayerRef;
  /** The new head. */
  head: HeadOptions;
  /** Which reused layers start frozen. Default 'all'. */
  freeze?: FreezePolicy;
  /** Seeds the head's initial weights. Default 0. */
  seed?: number;
}

export interface TransferredModel {
  model: tfl.LayersModel;
  /** The reused layers of the new model (copies of the source's), in order. */
  reused: tfl.layers.Layer[];
  /** The new head's layers, in order. */
  head: tfl.layers.Layer[];
  /** Names of reused layers frozen by the policy. */
  frozen: string[];
}

/**
 * Builds a new model from a copy of `source`'s layers up to the cut, plus a new head. The source is
 * never modified: its architecture is rebuilt from its config and its weights copied, so training
 * the result cannot touch it (the write-up shared `model_A.layers[:-1]`, and training B changed A).
 */
export async function transfer(source: tfl.LayersModel, options: TransferOptions): Promise<TransferredModel> {
  let clone = await cloneModel(source);
  // A cut named inside a nested model (e.g. MobileNetV2 inside a Teachable Machine export): flatten first.
  if (typeof options.cut === 'string' && !clone.layers.some((l) => l.name === options.cut) && flatLayers(clone).some((l) => l.name === options.cut)) {
    clone = flattenNested(clone);
  }
  // A model imported from ONNX was cut when it was read (its last layer is an OnnxBlock, not an output layer): reused whole.
  const imported = clone.layers[clone.layers.length - 1] instanceof OnnxBlock;
  let cutIndex = options.cut === undefined ? clone.layers.length - (imported ? 1 : 2) : resolveLayerIndex(clone, options.cut, 'Cut point');
  if (cutIndex < 0) throw new GraftError('BAD_LAYER_REF', `${source.name} has ${source.layers.length} layer(s): nothing is left to reuse once the output layer is cut off. Name a cut layer explicitly.`);
  if (clone.layers[cutIndex] instanceof tfl.LayersModel) {
    // Cutting after a nested model: flatten, and cut at the inner layer that produced its output.
    let inner: tfl.layers.Layer = clone.layers[cutIndex]!;
    while (inner instanceof tfl.LayersModel) inner = inner.outputs[0]!.sourceLayer as tfl.layers.Layer;
    clone = flattenNested(clone);
    cutIndex = resolveLayerIndex(clone, inner.name, 'Cut point');
  }
  const cutLayer = clone.layers[cutIndex]!;
  // Preprocessing layers stay fixed: no freeze or unfreeze policy ever sees them.
  const reused = clone.layers.slice(0, cutIndex + 1).filter((l) => l.getClassName() !== 'InputLayer' && !isPreprocessLayer(l));
  const names = new Set(clone.layers.map((l) => l.name));
  const unique = (base: string): string => {
    let name = base;
    for (let k = 1; names.has(name); k++) name = `${base}_${k}`;
    names.add(name);
    return name;
  };
  const rng = new Rng(deriveSeed(options.seed ?? 0, 'transfer-head'));
  const head: tfl.layers.Layer[] = [];
  let x = layerOutputIn(clone, cutLayer) as tfl.SymbolicTensor;
  if (Array.isArray(x)) throw new GraftError('BAD_LAYER_REF', `Cut point ${cutLayer.name} has several outputs; cut at a single-output layer.`);
  if (x.shape.length > 2) {
    head.push(
      options.head.pooling === 'avg'
        ? tfl.layers.globalAveragePooling2d({ name: unique('head_pool') })
        : tfl.layers.flatten({ name: unique('head_flatten') }),
    );
  }
  if (options.head.hidden !== undefined) {
    if (!Number.isInteger(options.head.hidden) || options.head.hidden < 1) {
      throw new GraftError('BAD_ARGUMENT', `Head hidden units must be a whole number ≥ 1; received ${options.head.hidden}.`);
    }
    head.push(tfl.layers.dense({ units: options.head.hidden, activation: 'relu', kernelInitializer: glorot(rng), name: unique('head_hidden') }));
  }
  if (options.head.dropout) head.push(tfl.layers.dropout({ rate: options.head.dropout, name: unique('head_dropout') }));
  head.push(outputLayer(options.head, rng, unique('head_output')));
  for (const layer of head) x = layer.apply(x) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: clone.inputs, outputs: x, name: `${source.name}_transfer` });
  // Layers after the cut belong to no model now; free their weights.
  for (const layer of clone.layers.slice(cutIndex + 1)) layer.dispose();
  const frozen = applyFreeze(reused, options.freeze ?? 'all');
  return { model, reused, head, frozen };
}

/** An independent copy: same architecture (from its config) and the same weight values. */
export async function cloneModel(source: tfl.LayersModel): Promise<tfl.LayersModel> {
  // toJSON(_, false) returns the Keras-style topology object that modelFromJSON reads back.
  const topology = source.toJSON(null, false) as unknown as Record<string, never>;
  const copy = await tfl.models.modelFromJSON({ modelTopology: topology });
  copy.setWeights(source.getWeights());
  copy.layers.forEach((l, i) => (l.trainable = source.layers[i]?.trainable ?? true));
  return copy;
}
