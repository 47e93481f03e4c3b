import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../../errors.js';
import type { H5Reader } from './hdf5.js';

/** A layer as Keras orders it when saving: class name, layer name, and children for nested models. */
export interface LayerNode {
  className: string;
  name: string;
  children?: LayerNode[];
}

/** The layer tree of a TF.js model, in `model.layers` order (which follows Keras's for graft's builders). */
export function layerTree(model: tfl.LayersModel): LayerNode[] {
  return model.layers.map((l) => {
    // TF.js calls a functional model 'Model'; Keras 3 names its weights group after 'Functional'.
    const className = l.getClassName() === 'Model' ? 'Functional' : l.getClassName();
    const node: LayerNode = { className, name: l.name };
    if (l instanceof tfl.LayersModel) node.children = layerTree(l);
    return node;
  });
}

/** Keras's file layouts for weights. */
export type WeightsLayout = 'keras3' | 'legacy';

export function detectLayout(h5: H5Reader): WeightsLayout | undefined {
  const root = h5.keys('/');
  if (root.includes('layers') || root.some((k) => k.startsWith('layers\\'))) return 'keras3';
  if (h5.attr('/', 'layer_names') !== undefined || h5.attr('/model_weights', 'layer_names') !== undefined) return 'legacy';
  return undefined;
}

/** Loads every weight of `model` from a Keras weights file (either layout), checking shapes. */
export function assignWeights(model: tfl.LayersModel, h5: H5Reader, what: string, tree: LayerNode[] = layerTree(model)): void {
  const layout = detectLayout(h5);
  if (layout === 'keras3') assignKeras3(model, tree, h5, ['layers'], what);
  else if (layout === 'legacy') assignLegacy(model, h5, h5.attr('/model_weights', 'layer_names') !== undefined ? '/model_weights' : '', what);
  else throw new GraftError('MODEL_CORRUPT', `${what} holds no Keras weights (neither a "layers" group nor a "layer_names" attribute). Is it a Keras model or weights file?`);
}

/** Keras 2 and legacy .h5: one group per layer, its weights listed in order by `weight_names`. */
function assignLegacy(model: tfl.LayersModel, h5: H5Reader, root: string, what: string): void {
  const names = asStrings(h5.attr(root || '/', 'layer_names'), `${what}: layer_names`);
  const inFile = new Set(names);
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    if (!inFile.has(layer.name)) {
      throw new GraftError('MODEL_CORRUPT', `${what}: no weights for layer ${JSON.stringify(layer.name)} (the file has weights for ${names.join(', ')}). The file belongs to another architecture.`);
    }
    const group = `${root}/${layer.name}`;
    const weightNames = asStrings(h5.attr(group, 'weight_names'), `${what}: ${group} weight_names`);
    setLayerWeights(layer, h5, weightNames.map((w) => `${group}/${w}`), `${what}: layer ${layer.name}`);
  }
}

/**
 * Keras 3: layers/<snake_case class name, numbered in order>/vars/<i>, nested models under .../layers/.
 * Early Keras 3 on Windows joined the group path with backslashes, making "layers\\dense" one group
 * name at the root; both spellings are looked up.
 */
function assignKeras3(container: tfl.LayersModel, nodes: LayerNode[], h5: H5Reader, prefix: string[], what: string): void {
  const used = new Map<string, number>();
  for (const node of nodes) {
    const base = snakeCase(node.className);
    const n = used.get(base);
    used.set(base, n === undefined ? 0 : n + 1);
    const key = n === undefined ? base : `${base}_${n + 1}`;
    const segments = [...prefix, key];
    const layer = findLayer(container, node.name);
    if (!layer) continue; // an InputLayer Keras lists but TF.js's Sequential hides
    if (node.children) {
      assignKeras3(layer as tfl.LayersModel, node.children, h5, [...segments, 'layers'], what);
      continue;
    }
    if (layer.weights.length === 0) continue;
    const slashed = `/${segments.join('/')}`;
    const path = h5.isGroup(`${slashed}/vars`) ? slashed : `/${segments.join('\\')}`;
    if (!h5.isGroup(`${path}/vars`)) {
      throw new GraftError('MODEL_CORRUPT', `${what}: no weights at ${path} for layer ${JSON.stringify(node.name)} (${node.className}). The file belongs to another architecture.`);
    }
    const count = h5.keys(`${path}/vars`).length;
    setLayerWeights(layer, h5, Array.from({ length: count }, (_, i) => `${path}/vars/${i}`), `${what}: layer ${node.name}`);
  }
}

function findLayer(container: tfl.LayersModel, name: string): tfl.layers.Layer | undefined {
  return container.layers.find((l) => l.name === name);
}

/** Checks every array's shape from the file's headers first, so a bad file cannot make graft read huge data. */
function setLayerWeights(layer: tfl.layers.Layer, h5: H5Reader, paths: string[], what: string): void {
  const expected = layer.weights;
  if (paths.length !== expected.length) {
    throw new GraftError('MODEL_CORRUPT', `${what}: the file holds ${paths.length} weight arrays, the ${layer.getClassName()} layer needs ${expected.length} (${expected.map((w) => w.originalName).join(', ')}).`);
  }
  paths.forEach((p, i) => {
    const shape = h5.shape(p);
    const want = expected[i]!.shape;
    if (shape.length !== want.length || shape.some((d, j) => d !== want[j])) {
      throw new GraftError('MODEL_CORRUPT', `${what}: weight ${expected[i]!.originalName} has shape [${shape.join(', ')}] in the file but the layer needs [${want.join(', ')}]. The file belongs to another architecture or input size.`);
    }
  });
  // A read that fails half-way (a damaged later dataset) must not leave the earlier tensors alive.
  const tensors: tf.Tensor[] = [];
  try {
    for (const p of paths) {
      const v = h5.dataset(p);
      tensors.push(tf.tensor(v.data, v.shape));
    }
    layer.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}

/** Keras's naming.to_snake_case: "DepthwiseConv2D" → "depthwise_conv2d", "ReLU" → "re_lu". */
export function snakeCase(name: string): string {
  return name
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

function asStrings(v: unknown, what: string): string[] {
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  if (typeof v === 'string') return [v];
  throw new GraftError('MODEL_CORRUPT', `${what} is not a list of names (received ${JSON.stringify(v)?.slice(0, 60)}).`);
}
