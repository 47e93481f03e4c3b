import * as tfl from '@tensorflow/tfjs-layers';
import { zipSync, strToU8 } from 'fflate';
import { GraftError } from '../../errors.js';
import { GRAFT_VERSION } from '../../version.js';
import { SUPPORTED_LAYERS } from './config.js';
import { layerTree, snakeCase, type LayerNode } from './weights.js';
import { h5lib, type H5Group } from './h5lib.js';

/** The Keras version graft's `.keras` files declare: the format of Keras 3.x. */
export const EXPORTED_KERAS_VERSION = '3.0.0';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/**
 * A `.keras` archive (Keras 3) of a graft model: config.json in Keras 3's layout, metadata.json and
 * model.weights.h5 written with Keras's layer naming (layers/<snake_case class>_<n>/vars/<i>).
 */
export async function toKerasArchive(model: tfl.LayersModel): Promise<Uint8Array> {
  const supported = new Set<string>([...SUPPORTED_LAYERS, 'Sequential', 'Model', 'Functional']);
  const check = (m: tfl.LayersModel): void => {
    for (const l of m.layers) {
      if (l instanceof tfl.LayersModel) check(l);
      else if (!supported.has(l.getClassName())) {
        throw new GraftError('BAD_ARGUMENT', `Layer ${l.name} is a ${l.getClassName()}, which graft cannot export to Keras. Exportable layers: ${SUPPORTED_LAYERS.join(', ')}.`);
      }
    }
  };
  check(model);
  const config = toKeras3Config(model.toJSON(null, false) as unknown as JsonObject);
  const metadata = { keras_version: EXPORTED_KERAS_VERSION, date_saved: new Date().toISOString(), written_by: `graft ${GRAFT_VERSION}` };
  const weights = await kerasWeightsH5(model);
  return zipSync({ 'metadata.json': strToU8(JSON.stringify(metadata)), 'config.json': strToU8(JSON.stringify(config)), 'model.weights.h5': weights }, { level: 6 });
}

/** TF.js's Keras-2-style JSON → Keras 3's: modules, batch_shape, Functional, no initializers. */
function toKeras3Config(node: JsonObject): JsonObject {
  const className = String(node.class_name);
  const config = node.config as JsonObject;
  if (className === 'Sequential' || className === 'Model' || className === 'Functional') {
    const isSeq = className === 'Sequential';
    const layers = (config.layers as JsonObject[]).map(toKeras3Config);
    const first = layers[0];
    const firstConfig = first?.config as JsonObject | undefined;
    if (isSeq && first && first.class_name !== 'InputLayer' && firstConfig?.batch_input_shape) {
      // Keras 3 wants the input as an InputLayer, not a batch_input_shape on the first layer.
      layers.unshift({ module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: firstConfig.batch_input_shape, dtype: 'float32', name: `${String(firstConfig.name)}_input` }, registered_name: null });
    }
    // Keras 3 layers refuse a batch_input_shape argument (functional models carry InputLayers).
    for (const l of layers) if (l.class_name !== 'InputLayer') delete (l.config as JsonObject).batch_input_shape;
    if (!isSeq) unshiftNestedNodes(layers, config);
    const out: JsonObject = {
      module: isSeq ? 'keras' : 'keras.src.models.functional',
      class_name: isSeq ? 'Sequential' : 'Functional',
      config: { ...config, name: config.name ?? 'model', trainable: true, layers, ...(isSeq ? {} : { input_layers: single(config.input_layers!), output_layers: single(config.output_layers!) }) },
      registered_name: isSeq ? null : 'Functional',
    };
    if (node.name !== undefined) out.name = node.name;
    if (node.inbound_nodes !== undefined) out.inbound_nodes = node.inbound_nodes;
    return out;
  }
  const c: JsonObject = {};
  for (const [k, v] of Object.entries(config)) {
    // Weights come from the file; Keras builds its default initializers.
    if (/(^|_)initializer$/.test(k)) continue;
    c[k === 'batch_input_shape' && className === 'InputLayer' ? 'batch_shape' : k] = v;
  }
  if (className === 'InputLayer') delete c.sparse;
  if (c.dtype === undefined || c.dtype === null) c.dtype = 'float32';
  const out: JsonObject = { module: 'keras.layers', class_name: className, config: c, registered_name: null };
  if (node.name !== undefined) out.name = node.name;
  if (node.inbound_nodes !== undefined) out.inbound_nodes = node.inbound_nodes;
  return out;
}

/**
 * Keras 3 writes a single input or output as one [name, node, index] triple, a list of them only
 * for several; a one-element list makes `model.output` a list in Keras.
 */
function single(refs: Json): Json {
  return Array.isArray(refs) && refs.length === 1 && Array.isArray(refs[0]) ? refs[0] : refs;
}

/** TF.js numbers the first call of a nested model node 1 (node 0 is its construction); Keras 3 numbers it 0. */
function unshiftNestedNodes(layers: JsonObject[], config: JsonObject): void {
  const nested = new Set(layers.filter((l) => l.class_name === 'Sequential' || l.class_name === 'Functional').map((l) => String((l.config as JsonObject).name)));
  if (nested.size === 0) return;
  const shift = (ref: Json): Json => (Array.isArray(ref) && typeof ref[0] === 'string' && nested.has(ref[0]) && typeof ref[1] === 'number' ? [ref[0], ref[1] - 1, ...ref.slice(2)] : ref);
  for (const l of layers) if (Array.isArray(l.inbound_nodes)) l.inbound_nodes = l.inbound_nodes.map((n) => (Array.isArray(n) ? n.map(shift) : n));
  if (Array.isArray(config.output_layers)) config.output_layers = config.output_layers.map(shift);
}

let h5Exports = 0;

/** model.weights.h5 in Keras 3's layout, written in memory with h5wasm. */
export async function kerasWeightsH5(model: tfl.LayersModel): Promise<Uint8Array> {
  const h5wasm = await h5lib();
  const module = await h5wasm.ready;
  // A name of its own in h5wasm's in-memory file system (one per module instance: a counter suffices).
  const name = `/graft-export-${++h5Exports}-${Date.now()}.h5`;
  const file = new h5wasm.File(name, 'w');
  try {
    file.create_group('vars');
    const layersGroup = file.create_group('layers');
    writeLayers(model, layerTree(model), layersGroup);
    file.close();
    return module.FS.readFile(name);
  } finally {
    try {
      module.FS.unlink(name);
    } catch {
      // already gone
    }
  }
}

function writeLayers(container: tfl.LayersModel, nodes: LayerNode[], into: H5Group): void {
  const used = new Map<string, number>();
  for (const node of nodes) {
    const base = snakeCase(node.className);
    const n = used.get(base);
    used.set(base, n === undefined ? 0 : n + 1);
    const group = into.create_group(n === undefined ? base : `${base}_${n + 1}`);
    const vars = group.create_group('vars');
    const layer = container.layers.find((l) => l.name === node.name)!;
    if (node.children) {
      writeLayers(layer as tfl.LayersModel, node.children, group.create_group('layers'));
      continue;
    }
    layer.weights.forEach((w, i) => {
      const data = w.read().dataSync() as Float32Array;
      vars.create_dataset({ name: String(i), data: Float32Array.from(data), shape: [...w.shape] as number[], dtype: '<f' });
    });
  }
}
