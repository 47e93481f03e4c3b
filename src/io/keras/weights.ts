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

/**
 * Keras's file layouts for weights: 'legacy' (Keras 2 and legacy .h5: `layer_names`), and the
 * per-object layout of `.keras` / `.weights.h5`, which keeps a model's layers under "layers"
 * (Keras 3, tf.keras 2.15) or "_layer_checkpoint_dependencies" (tf.keras 2.13 and 2.14).
 */
export type WeightsLayout = 'keras3' | 'tfkeras2' | 'legacy';

/** The group holding a model's layers in each per-object layout. */
const LAYERS_GROUP = { keras3: 'layers', tfkeras2: '_layer_checkpoint_dependencies' } as const;

export function detectLayout(h5: H5Reader): WeightsLayout | undefined {
  const root = h5.keys('/');
  // A file saved on Windows joined the path with backslashes: "layers\\dense" is one root group.
  const has = (group: string): boolean => root.some((k) => k === group || k.startsWith(`${group}\\`));
  if (has(LAYERS_GROUP.keras3)) return 'keras3';
  if (has(LAYERS_GROUP.tfkeras2)) return 'tfkeras2';
  if (h5.attr('/', 'layer_names') !== undefined || h5.attr('/model_weights', 'layer_names') !== undefined) return 'legacy';
  return undefined;
}

/** Loads every weight of `model` from a Keras weights file (any layout), checking shapes. */
export function assignWeights(model: tfl.LayersModel, h5: H5Reader, what: string, tree: LayerNode[] = layerTree(model)): void {
  const layout = detectLayout(h5);
  if (layout === 'keras3' || layout === 'tfkeras2') assignPerObject(model, tree, h5, [], layout, what);
  else if (layout === 'legacy') assignLegacy(model, h5, h5.attr('/model_weights', 'layer_names') !== undefined ? '/model_weights' : '', what);
  else {
    const found = h5.keys('/');
    throw new GraftError(
      'MODEL_CORRUPT',
      `${what} holds no Keras weights: expected a "layers" group (Keras 3, tf.keras 2.15), a "_layer_checkpoint_dependencies" group (tf.keras 2.13–2.14) or a "layer_names" attribute (Keras 2 .h5); its root holds ${found.length > 0 ? found.slice(0, 12).map((k) => JSON.stringify(k)).join(', ') : 'nothing'}. Is it a Keras model or weights file?`,
    );
  }
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
 * Keras 3 and tf.keras 2.13–2.15 save each layer's variables at <layers group>/<key>/vars/<i>, a
 * nested model's layers below its own key. The key is not the layer's name but its snake_case class
 * name, numbered in `model.layers` order: dense, dense_1, ... tf.keras 2.13 reached the layers
 * through a dict listing each layer that has weights twice and counted both entries, so there a
 * weighted layer takes every other number (dense, dense_2); which numbering a file used shows in
 * the groups it holds. Files saved on Windows joined the whole path with backslashes into one
 * group name; both spellings are looked up.
 */
function assignPerObject(container: tfl.LayersModel, nodes: LayerNode[], h5: H5Reader, prefix: string[], layout: 'keras3' | 'tfkeras2', what: string): void {
  const entries = nodes.map((node) => ({ node, layer: findLayer(container, node.name) })); // no layer: an InputLayer TF.js's Sequential hides
  const weighted = (e: (typeof entries)[number]): boolean => e.layer !== undefined && e.layer.weights.length > 0;
  const numberings = [layerKeys(entries.map((e) => ({ className: e.node.className, doubled: false })))];
  if (layout === 'tfkeras2') numberings.push(layerKeys(entries.map((e) => ({ className: e.node.className, doubled: weighted(e) }))));
  const at = (keys: string[], i: number): string[] => [...prefix, LAYERS_GROUP[layout], keys[i]!];
  const missing = (keys: string[]): number[] => entries.flatMap((e, i) => (weighted(e) && !present(h5, at(keys, i), e.node.children !== undefined) ? [i] : []));
  const misses = numberings.map(missing);
  const best = misses.reduce((b, m, j) => (m.length < misses[b]!.length ? j : b), 0);
  if (misses[best]!.length > 0) {
    const i = misses[best]![0]!;
    const { node } = entries[i]!;
    const expected = at(numberings[best]!, i);
    throw new GraftError(
      'MODEL_CORRUPT',
      `${what}: no weights for layer ${JSON.stringify(node.name)} (${node.className}): expected the group ${expected.join('/')}; ${describeGroup(h5, expected.slice(0, -1))}. The file is damaged or belongs to another architecture.`,
    );
  }
  const keys = numberings[best]!;
  entries.forEach(({ node, layer }, i) => {
    if (!layer || !weighted(entries[i]!)) return;
    if (node.children) {
      assignPerObject(layer as tfl.LayersModel, node.children, h5, at(keys, i), layout, what);
      return;
    }
    const path = varsGroup(h5, at(keys, i))!;
    const count = h5.keys(path).length;
    setLayerWeights(layer, h5, Array.from({ length: count }, (_, j) => `${path}/${j}`), `${what}: layer ${node.name}`);
  });
}

/** Keras's per-container keys: snake_case class name, then _1, _2 ... per class; a doubled entry uses two numbers. */
function layerKeys(entries: { className: string; doubled: boolean }[]): string[] {
  const used = new Map<string, number>();
  return entries.map(({ className, doubled }) => {
    const base = snakeCase(className);
    const n = used.has(base) ? used.get(base)! + 1 : 0;
    used.set(base, doubled ? n + 1 : n);
    return n === 0 ? base : `${base}_${n}`;
  });
}

/** A layer's group is there: its `vars`, or for a nested model (whose own vars Keras may omit) the group itself. */
function present(h5: H5Reader, segments: string[], isModel: boolean): boolean {
  return varsGroup(h5, segments) !== undefined || (isModel && (h5.isGroup(`/${segments.join('/')}`) || h5.keys('/').some((k) => k.startsWith(`${segments.join('\\')}\\`))));
}

/** The path of the `vars` group at these segments, joined with "/" or (saved on Windows) "\\". */
function varsGroup(h5: H5Reader, segments: string[]): string | undefined {
  return [`/${segments.join('/')}/vars`, `/${segments.join('\\')}/vars`].find((p) => h5.isGroup(p));
}

/** What a layers group holds, for an error message. */
function describeGroup(h5: H5Reader, segments: string[]): string {
  const slashed = `/${segments.join('/')}`;
  const backslashed = `${segments.join('\\')}\\`;
  const names = h5.isGroup(slashed) ? h5.keys(slashed) : h5.keys('/').filter((k) => k.startsWith(backslashed) && !k.slice(backslashed.length).includes('\\')).map((k) => k.slice(backslashed.length));
  return names.length > 0 ? `${segments.join('/')} holds ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', ...' : ''}` : `the file has no ${segments.join('/')} group`;
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
