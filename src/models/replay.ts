import * as tfl from '@tensorflow/tfjs-layers';

/**
 * A model's own call nodes in topological order. A layer can also hold nodes from other models (a
 * layer applied twice); only those reachable from this model's inputs are its own.
 */
export interface ModelNode {
  layer: tfl.layers.Layer;
  inputs: tfl.SymbolicTensor[];
  outputs: tfl.SymbolicTensor[];
}

export function modelNodes(model: tfl.LayersModel): ModelNode[] {
  const known = new Set(model.inputs.map((t) => t.id));
  const nodes: ModelNode[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    for (const node of layer.inboundNodes) {
      if (node.inputTensors.length === 0 || !node.inputTensors.every((t) => known.has(t.id))) continue;
      nodes.push({ layer, inputs: node.inputTensors, outputs: node.outputTensors });
      for (const t of node.outputTensors) known.add(t.id);
    }
  }
  return nodes;
}

/**
 * Applies the same layer objects again, starting from `start` (old tensor → new tensor), and
 * returns what the model's output becomes. The layers are shared, not copied: training either
 * model trains both. Layers not reachable from `start` are skipped.
 */
export function replayLayers(model: tfl.LayersModel, start: ReadonlyMap<number, tfl.SymbolicTensor>): tfl.SymbolicTensor {
  const map = new Map(start);
  for (const node of modelNodes(model)) {
    const ins = node.inputs.map((t) => map.get(t.id));
    if (ins.some((t) => t === undefined)) continue;
    const args = ins as tfl.SymbolicTensor[];
    const out = node.layer.apply(args.length === 1 ? args[0]! : args) as tfl.SymbolicTensor | tfl.SymbolicTensor[];
    (Array.isArray(out) ? out : [out]).forEach((t, k) => map.set(node.outputs[k]!.id, t));
  }
  const output = map.get(model.outputs[0]!.id);
  if (!output) throw new Error(`graft: replaying ${model.name} did not reach its output`);
  return output;
}

/**
 * The same computation with nested models expanded into one flat graph, so any inner layer can be
 * named as a cut point (a Teachable Machine export nests MobileNetV2 two levels deep). Every layer is
 * applied afresh to a new input and `model`'s container is released: the result owns the layers.
 */
export function flattenNested(model: tfl.LayersModel): tfl.LayersModel {
  const [input] = model.inputs;
  if (!input || model.inputs.length !== 1) throw new Error(`graft: cannot flatten ${model.name}: it has ${model.inputs.length} inputs`);
  const fresh = tfl.input({ shape: input.shape.slice(1) as number[], name: `${model.name}_input` });
  const output = inline(model, new Map([[input.id, fresh]]));
  const flat = tfl.model({ inputs: fresh, outputs: output, name: model.name });
  model.dispose();
  return flat;
}

function inline(model: tfl.LayersModel, start: ReadonlyMap<number, tfl.SymbolicTensor>): tfl.SymbolicTensor {
  const map = new Map(start);
  for (const node of modelNodes(model)) {
    const ins = node.inputs.map((t) => map.get(t.id));
    if (ins.some((t) => t === undefined)) continue;
    const args = ins as tfl.SymbolicTensor[];
    if (node.layer instanceof tfl.LayersModel) {
      const inner = node.layer;
      if (inner.inputs.length !== 1 || args.length !== 1) throw new Error(`graft: cannot flatten nested model ${inner.name} with several inputs`);
      map.set(node.outputs[0]!.id, inline(inner, new Map([[inner.inputs[0]!.id, args[0]!]])));
      continue;
    }
    const out = node.layer.apply(args.length === 1 ? args[0]! : args) as tfl.SymbolicTensor | tfl.SymbolicTensor[];
    (Array.isArray(out) ? out : [out]).forEach((t, k) => map.set(node.outputs[k]!.id, t));
  }
  const output = map.get(model.outputs[0]!.id);
  if (!output) throw new Error(`graft: flattening ${model.name} did not reach its output`);
  return output;
}

/** The output of `layer` within `model` (a shared layer has one output per model it is used in). */
export function layerOutputIn(model: tfl.LayersModel, layer: tfl.layers.Layer): tfl.SymbolicTensor | tfl.SymbolicTensor[] | undefined {
  const node = modelNodes(model).find((n) => n.layer === layer);
  if (!node) return undefined;
  return node.outputs.length === 1 ? node.outputs[0]! : node.outputs;
}
