import { GraftError } from '../../errors.js';
import type { LayerNode } from './weights.js';
import { checkLayerCount } from '../layer-limit.js';

/**
 * Keras model configs of every generation → the Keras-2-style topology TF.js deserialises.
 * Keras 3 adds `module`/`registered_name`/`build_config`, DTypePolicy objects, `batch_shape` and a
 * new functional node format; Keras 2.0–2.2 wrote a Sequential's config as a bare list of layers;
 * tf.keras 2.1 put the input shape on the first layer. Initializers are replaced by TF.js defaults:
 * weights come from the file, and old initializer configs are what Keras 3 itself chokes on.
 */

export const SUPPORTED_LAYERS = [
  'InputLayer', 'Dense', 'Flatten', 'Dropout', 'Activation', 'Softmax', 'ReLU', 'Conv2D', 'DepthwiseConv2D',
  'SeparableConv2D', 'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D',
  'BatchNormalization', 'ZeroPadding2D', 'Add', 'Concatenate', 'Reshape', 'Rescaling',
] as const;

const CONTAINERS = new Set(['Sequential', 'Functional', 'Model']);
const SUPPORTED = new Set<string>(SUPPORTED_LAYERS);
const ACTIVATIONS: Record<string, string> = {
  linear: 'linear', relu: 'relu', relu6: 'relu6', sigmoid: 'sigmoid', softmax: 'softmax', tanh: 'tanh', elu: 'elu', selu: 'selu',
  softplus: 'softplus', softsign: 'softsign', swish: 'swish', silu: 'swish', gelu: 'gelu', hard_sigmoid: 'hard_sigmoid', mish: 'mish',
};
/** Config keys holding initializers: replaced by defaults, the file's weights overwrite them. */
const INITIALIZER_KEYS = /(^|_)initializer$/;
/** Keras 3 bookkeeping TF.js does not know. */
const DROPPED_KEYS = new Set(['module', 'registered_name', 'build_config', 'compile_config', 'shared_object_id']);
const DROPPED_LAYER_KEYS: Record<string, string[]> = {
  InputLayer: ['sparse', 'ragged', 'optional'],
  Conv2D: ['groups', 'lora_rank'],
  Dense: ['lora_rank', 'lora_alpha', 'quantization_config'],
  BatchNormalization: ['synchronized'],
  Rescaling: [],
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

export interface NormalizedConfig {
  /** A topology `tfl.models.modelFromJSON` accepts. */
  topology: JsonObject;
  /** The top-level layers in the file's order, nested models with their children (how Keras 3 names weights). */
  tree: LayerNode[];
}

/** Normalises a model config; `where` names the file for error messages. */
export function normalizeKerasConfig(raw: unknown, where: string): NormalizedConfig {
  if (Array.isArray(raw)) raw = { class_name: 'Sequential', config: { name: 'sequential', layers: raw } };
  if (!isObject(raw) || typeof raw.class_name !== 'string') {
    throw new GraftError('MODEL_CORRUPT', `${where}: the model config is not a Keras model (expected {"class_name", "config"}; received ${describe(raw)}).`);
  }
  if (!CONTAINERS.has(raw.class_name)) {
    throw new GraftError('MODEL_CORRUPT', `${where}: the top-level config is a ${raw.class_name}, not a model (Sequential or Functional).`);
  }
  checkLayerCount(raw, where); // before the recursive walk below
  const root: LayerNode = { className: raw.class_name, name: '', children: [] };
  const topology = normalizeLayer(raw, where, '', root, true);
  return { topology, tree: root.children ?? [] };
}

function normalizeLayer(layer: JsonObject, where: string, parent: string, into: LayerNode, top = false): JsonObject {
  const className = String(layer.class_name);
  const config = layer.config;
  const name = isObject(config) && typeof config.name === 'string' ? config.name : typeof layer.name === 'string' ? layer.name : '?';
  const path = parent ? `${parent}/${name}` : name;
  if (className === 'Lambda' || className === 'TFOpLambda' || className === 'SlicingOpLambda') {
    throw new GraftError(
      'BAD_ARGUMENT',
      `${where}: layer ${JSON.stringify(path)} is a ${className}. Its computation is Python code (bytecode or an op reference) stored in the file; graft does not run code from model files, and it could not be translated safely. Replace the Lambda with built-in layers in Keras and save again, or cut the model before it.`,
    );
  }
  if (CONTAINERS.has(className)) {
    // The top-level model fills `into` itself; a nested model becomes a child with children.
    const node: LayerNode = top ? into : { className, name, children: [] };
    if (node !== into) into.children!.push(node);
    return normalizeContainer(layer, className, where, node === into ? '' : path, node);
  }
  if (!SUPPORTED.has(className)) {
    const custom = layer.registered_name && layer.registered_name !== className ? ` (custom object ${JSON.stringify(layer.registered_name)})` : '';
    throw new GraftError(
      'BAD_ARGUMENT',
      `${where}: layer ${JSON.stringify(path)} is ${/^[AEIOU]/.test(className) ? 'an' : 'a'} ${className}${custom}, which graft cannot load. Supported layers: ${SUPPORTED_LAYERS.join(', ')}; plus Sequential and Functional models. ` +
        'Custom layers are refused: their code is not in the file. Cut the model before this layer or rebuild it with supported layers.',
    );
  }
  into.children!.push({ className, name });
  if (!isObject(config)) throw new GraftError('MODEL_CORRUPT', `${where}: layer ${JSON.stringify(path)} has no config object.`);
  const out: JsonObject = { class_name: className, config: normalizeLayerConfig(className, config, where, path) };
  if (layer.name !== undefined) out.name = layer.name;
  if (layer.inbound_nodes !== undefined) out.inbound_nodes = normalizeInboundNodes(layer.inbound_nodes, where, path);
  return out;
}

function normalizeContainer(layer: JsonObject, className: string, where: string, path: string, node: LayerNode): JsonObject {
  let config = layer.config;
  if (Array.isArray(config)) config = { name: 'sequential', layers: config };
  if (!isObject(config) || !Array.isArray(config.layers)) {
    throw new GraftError('MODEL_CORRUPT', `${where}: ${className} ${JSON.stringify(path || 'model')} has no list of layers in its config.`);
  }
  const layers = config.layers.map((l) => {
    if (!isObject(l) || typeof l.class_name !== 'string') throw new GraftError('MODEL_CORRUPT', `${where}: a layer entry in ${JSON.stringify(path || 'the model')} is not {"class_name", "config"}.`);
    return normalizeLayer(l, where, path, node);
  });
  const out: JsonObject = { ...stripKeys(config), layers };
  delete out.dtype;
  delete out.trainable;
  if (className !== 'Sequential') {
    out.input_layers = normalizeTensorRefs(config.input_layers, where, path);
    out.output_layers = normalizeTensorRefs(config.output_layers, where, path);
    // Keras 2 (and TF.js) count a nested model's own construction as its node 0, so the first call
    // of it is node 1; Keras 3 numbers that call 0. Shift references to nested models accordingly.
    const keras3 = config.layers.some((l) => isObject(l) && Array.isArray(l.inbound_nodes) && l.inbound_nodes.some(isObject));
    const nested = new Set(layers.filter((l) => CONTAINERS.has(String(l.class_name))).map((l) => String((l.config as JsonObject).name ?? l.name)));
    if (keras3 && nested.size > 0) {
      const shift = (ref: Json): Json => (Array.isArray(ref) && typeof ref[0] === 'string' && nested.has(ref[0]) && typeof ref[1] === 'number' ? [ref[0], ref[1] + 1, ...ref.slice(2)] : ref);
      for (const l of layers) if (Array.isArray(l.inbound_nodes)) l.inbound_nodes = l.inbound_nodes.map((node) => (Array.isArray(node) ? node.map(shift) : node));
      out.output_layers = (out.output_layers as Json[]).map(shift);
    }
    checkGraph(layers, out.input_layers as Json[], out.output_layers as Json[], where, path);
  }
  const result: JsonObject = { class_name: className === 'Functional' ? 'Model' : className, config: out };
  if (layer.name !== undefined) result.name = layer.name;
  if (layer.inbound_nodes !== undefined) result.inbound_nodes = normalizeInboundNodes(layer.inbound_nodes, where, path);
  return result;
}

/**
 * TF.js rebuilds a functional model by replaying its layer calls until none is pending, and never
 * asks whether a pending call can ever run: a reference to a missing layer, to a call that is never
 * made, or a cycle makes it loop forever (one flipped letter in a layer name did). The same
 * schedule is replayed here on names alone, and a graph that cannot finish is refused.
 */
function checkGraph(layers: JsonObject[], inputs: Json[], outputs: Json[], where: string, path: string): void {
  const model = JSON.stringify(path || 'model');
  const fail = (problem: string): never => {
    throw new GraftError('MODEL_CORRUPT', `${where}: functional model ${model} cannot be rebuilt: ${problem}. The config is damaged; save the model again.`);
  };
  const order: string[] = [];
  /** Calls made so far per layer: an input layer or a nested model exists once before any call. */
  const calls = new Map<string, number>();
  const pending = new Map<string, Json[][]>();
  for (const l of layers) {
    const name = (l.config as JsonObject).name;
    if (typeof name !== 'string') fail(`a ${String(l.class_name)} layer has no name`);
    // TF.js files a layer under its entry's name and looks its inputs up by that name: without one, nothing finds it.
    if (l.name !== name) fail(`layer entry ${describe(l.name ?? null)} holds a layer named ${describe(name)}; the two must match`);
    if (calls.has(name as string)) fail(`two layers are named ${describe(name)}`);
    order.push(name as string);
    calls.set(name as string, l.class_name === 'InputLayer' || CONTAINERS.has(String(l.class_name)) ? 1 : 0);
    pending.set(name as string, (Array.isArray(l.inbound_nodes) ? l.inbound_nodes : []) as Json[][]);
  }
  const isRef = (r: Json): r is [string, number, number, ...Json[]] =>
    Array.isArray(r) && typeof r[0] === 'string' && [r[1], r[2]].every((i) => typeof i === 'number' && Number.isInteger(i) && i >= 0);
  const ready = (r: Json): boolean => isRef(r) && (calls.get(r[0]) ?? 0) > r[1];
  for (let left = [...pending.values()].reduce((a, q) => a + q.length, 0); left > 0; ) {
    let progressed = false;
    for (const name of order) {
      const queue = pending.get(name)!;
      if (queue.length === 0) continue;
      pending.set(name, []);
      for (const node of queue) {
        if (!Array.isArray(node) || !node.every(ready)) {
          pending.get(name)!.push(node);
          continue;
        }
        left--;
        progressed = true;
        if (node.length > 0) calls.set(name, calls.get(name)! + 1);
      }
    }
    if (progressed) continue;
    const [name, queue] = [...pending].find(([, q]) => q.length > 0)!;
    const node = queue[0]!;
    const ref = Array.isArray(node) ? (node.find((r) => !ready(r)) ?? null) : node;
    if (!isRef(ref)) fail(`layer ${describe(name)} has a malformed input reference ${describe(ref)}`);
    const [from, index] = ref as [string, number];
    fail(calls.has(from) ? `layer ${describe(name)} takes call ${index} of layer ${describe(from)}, which is never made (a cycle or a damaged index)` : `layer ${describe(name)} takes its input from ${describe(from)}, and there is no layer of that name`);
  }
  for (const [what, refs] of [['input', inputs], ['output', outputs]] as const) {
    for (const r of refs) {
      if (!ready(r)) fail(`its ${what} ${describe(r)} names no layer call that exists`);
    }
  }
}

function normalizeLayerConfig(className: string, config: JsonObject, where: string, path: string): JsonObject {
  const out = stripKeys(config);
  for (const key of Object.keys(out)) {
    if (INITIALIZER_KEYS.test(key)) delete out[key];
    if (/_(regularizer|constraint)$/.test(key) && out[key] !== null) {
      // Regularizers and constraints are training-time settings of the source task; the target
      // task chooses its own. Dropping them keeps old or custom configs loadable.
      delete out[key];
    }
  }
  for (const key of DROPPED_LAYER_KEYS[className] ?? []) delete out[key];
  if (className === 'Conv2D' && typeof config.groups === 'number' && config.groups !== 1) {
    throw new GraftError('BAD_ARGUMENT', `${where}: layer ${JSON.stringify(path)} is a grouped Conv2D (groups=${config.groups}); TF.js has no grouped convolution.`);
  }
  if (className === 'ReLU') {
    // TF.js's ReLU layer takes max_value only and would silently ignore these, computing another function.
    for (const key of ['negative_slope', 'threshold'] as const) {
      const v = config[key];
      if (v !== undefined && v !== null && v !== 0) {
        throw new GraftError('BAD_ARGUMENT', `${where}: layer ${JSON.stringify(path)} is a ReLU with ${key}=${JSON.stringify(v)}; TF.js's ReLU layer has max_value only, so graft cannot compute it. Cut the model before this layer.`);
      }
      delete out[key];
    }
  }
  const dtype = config.dtype;
  if (isObject(dtype)) {
    const policy = isObject(dtype.config) ? dtype.config.name : undefined;
    if (policy !== 'float32') {
      throw new GraftError(
        'BAD_ARGUMENT',
        `${where}: layer ${JSON.stringify(path)} uses dtype policy ${JSON.stringify(policy)}; graft loads float32 models only. In Keras, rebuild the model under keras.config.set_dtype_policy("float32"), copy the weights over, and save again.`,
      );
    }
    out.dtype = 'float32';
  } else if (dtype !== undefined && dtype !== null && dtype !== 'float32') {
    throw new GraftError('BAD_ARGUMENT', `${where}: layer ${JSON.stringify(path)} has dtype ${JSON.stringify(dtype)}; graft loads float32 models only.`);
  }
  if ('batch_shape' in out) {
    out.batch_input_shape = out.batch_shape!;
    delete out.batch_shape;
  }
  if (typeof out.activation === 'string') {
    const act = ACTIVATIONS[out.activation];
    if (!act) throw new GraftError('BAD_ARGUMENT', `${where}: layer ${JSON.stringify(path)} uses activation ${JSON.stringify(out.activation)}, which graft does not support. Supported: ${Object.keys(ACTIVATIONS).join(', ')}.`);
    out.activation = act;
  } else if (out.activation !== undefined && out.activation !== null) {
    throw new GraftError('BAD_ARGUMENT', `${where}: layer ${JSON.stringify(path)} has a non-string activation (${describe(out.activation)}); custom activations cannot be loaded.`);
  }
  return out;
}

/** Keras 2: [[[name, node, tensor, kwargs], ...], ...]. Keras 3: [{args: [...keras tensors], kwargs}]. */
function normalizeInboundNodes(nodes: Json, where: string, path: string): Json {
  if (!Array.isArray(nodes)) throw new GraftError('MODEL_CORRUPT', `${where}: layer ${JSON.stringify(path)} has malformed inbound_nodes.`);
  return nodes.map((node) => {
    if (Array.isArray(node)) return node;
    if (!isObject(node)) throw new GraftError('MODEL_CORRUPT', `${where}: layer ${JSON.stringify(path)} has a malformed inbound node.`);
    const refs: Json[] = [];
    collectKerasTensors(node.args ?? [], refs);
    if (refs.length === 0) throw new GraftError('MODEL_CORRUPT', `${where}: layer ${JSON.stringify(path)} has an inbound node with no input tensors.`);
    return refs;
  });
}

function collectKerasTensors(value: Json, out: Json[]): void {
  if (Array.isArray(value)) value.forEach((v) => collectKerasTensors(v, out));
  else if (isObject(value) && value.class_name === '__keras_tensor__' && isObject(value.config) && Array.isArray(value.config.keras_history)) {
    const [layer, node, tensor] = value.config.keras_history;
    out.push([layer ?? null, node ?? 0, tensor ?? 0, {}]);
  }
}

/** [name, node, tensor] or a list of them → always a list. */
function normalizeTensorRefs(refs: Json | undefined, where: string, path: string): Json {
  if (!Array.isArray(refs)) throw new GraftError('MODEL_CORRUPT', `${where}: functional model ${JSON.stringify(path || 'model')} lacks input_layers/output_layers.`);
  return typeof refs[0] === 'string' ? [refs] : refs;
}

function stripKeys(o: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (!DROPPED_KEYS.has(k)) out[k] = v;
  return out;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
