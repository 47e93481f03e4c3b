import * as tfl from '@tensorflow/tfjs-layers';
import { modelNodes } from '../../../models/replay.js';
import { encodeModel } from '../model-proto.js';
import { ForwardContext, type LayerEmitter, type Value } from './context.js';
import { PLAIN_LAYERS } from './plain-layers.js';
import { Unsupported, unsupported } from './unsupported.js';
import { WEIGHTED_LAYERS } from './weighted-layers.js';

const EMITTERS: Record<string, LayerEmitter> = { ...WEIGHTED_LAYERS, ...PLAIN_LAYERS };

/** Layer class names the converter translates (nested models are flattened besides). */
export const FORWARD_LAYERS: readonly string[] = ['InputLayer', ...Object.keys(EMITTERS)].sort();

export interface ForwardGraph {
  /** The ONNX model: input `x` [n, ...inputShape] and output `y` [n, ...outputShape], both NHWC as TF.js has them. */
  bytes: Uint8Array;
  inputShape: number[];
  outputShape: number[];
}

/**
 * A TF.js model's inference pass (BatchNorm on its moving statistics, dropout and noise off) as an
 * ONNX graph holding the current weights. Images travel channels-first inside the graph (what
 * onnxruntime's CPU convolutions are fastest on): one Transpose after the input and one before the
 * output, which is NHWC again, so a flattened output row equals TF.js's. Returns the reason
 * instead when some layer has no translation here; callers then run the model on TF.js.
 */
export function buildForwardGraph(model: tfl.LayersModel): ForwardGraph | string {
  try {
    return build(model);
  } catch (e) {
    if (e instanceof Unsupported) return e.message;
    throw e;
  }
}

function build(model: tfl.LayersModel): ForwardGraph {
  const [input] = model.inputs;
  const [output] = model.outputs;
  if (!input || !output || model.inputs.length !== 1 || model.outputs.length !== 1) unsupported(`${model.name} has ${model.inputs.length} inputs and ${model.outputs.length} outputs (one of each is translated)`);
  if (input.dtype !== 'float32') unsupported(`${model.name} takes ${input.dtype} input`);
  const ctx = new ForwardContext();
  const inputShape = sampleShape(input, `the input of ${model.name}`);
  const x = ctx.g.input('x', ['n', ...inputShape]);
  const start: Value = { name: inputShape.length === 3 ? ctx.g.op('Transpose', [x], { perm: [0, 3, 1, 2] }) : x, shape: inputShape };
  const out = walk(ctx, model, start);
  const y = out.shape.length === 3 ? ctx.g.op('Transpose', [out.name], { perm: [0, 2, 3, 1] }) : out.name;
  ctx.g.output(y, 'y', ['n', ...out.shape]);
  return { bytes: encodeModel(ctx.g.graph, `${model.name}_forward`), inputShape, outputShape: out.shape };
}

/** Emits every call node of `model` (nested models inline), starting from its input's value. */
function walk(ctx: ForwardContext, model: tfl.LayersModel, start: Value): Value {
  const values = new Map<number, Value>([[model.inputs[0]!.id, start]]);
  for (const node of modelNodes(model)) {
    const ins = node.inputs.map((t) => values.get(t.id));
    if (ins.some((v) => v === undefined)) continue;
    const inputs = ins as Value[];
    const { layer } = node;
    if (node.outputs.length !== 1) unsupported(`layer ${layer.name} (${layer.getClassName()}) has ${node.outputs.length} outputs`);
    if (layer instanceof tfl.LayersModel) {
      if (layer.inputs.length !== 1 || layer.outputs.length !== 1 || inputs.length !== 1) unsupported(`nested model ${layer.name} has several inputs or outputs`);
      values.set(node.outputs[0]!.id, walk(ctx, layer, inputs[0]!));
      continue;
    }
    const className = layer.getClassName();
    const emit = EMITTERS[className];
    if (!emit) unsupported(`layer ${layer.name} is a ${className}, which graft cannot run on onnxruntime yet`);
    const outShape = sampleShape(node.outputs[0]!, `the output of layer ${layer.name}`);
    try {
      values.set(node.outputs[0]!.id, { name: emit(ctx, layer, inputs, outShape), shape: outShape });
    } catch (e) {
      if (e instanceof Unsupported) unsupported(`layer ${layer.name} (${className}): ${e.message}`);
      throw e;
    }
  }
  const out = values.get(model.outputs[0]!.id);
  return out ?? unsupported(`the walk through ${model.name} did not reach its output`);
}

/** One sample's static shape: a vector [units] or an image [h, w, c]; other ranks are not translated. */
function sampleShape(t: tfl.SymbolicTensor, what: string): number[] {
  const shape = t.shape.slice(1);
  if (!shape.every((d): d is number => typeof d === 'number' && d > 0)) return unsupported(`${what} has an unknown size [${t.shape.join(', ')}]`);
  if (shape.length !== 1 && shape.length !== 3) return unsupported(`${what} has shape [${shape.join(', ')}] (vectors and [height, width, channels] images are translated)`);
  return shape;
}
