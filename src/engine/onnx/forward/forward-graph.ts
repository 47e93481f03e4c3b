import * as tfl from '@tensorflow/tfjs-layers';
import { modelNodes } from '../../../models/replay.js';
import { encodeOnnxModel } from '../model-proto.js';
import type { OnnxGraph } from '../model-proto.js';
import { ForwardContext, type LayerEmitter, type TrainingRecord, type Value } from './context.js';
import { PLAIN_LAYERS } from './plain-layers.js';
import { Unsupported, unsupported } from './unsupported.js';
import { WEIGHTED_LAYERS } from './weighted-layers.js';

const EMITTERS = new Map<string, LayerEmitter>(Object.entries({ ...WEIGHTED_LAYERS, ...PLAIN_LAYERS }));

/** Layer class names the converter translates (nested models are flattened besides). */
export const FORWARD_LAYERS: readonly string[] = ['InputLayer', ...EMITTERS.keys()].sort();

/**
 * Teaches the converter a layer class defined elsewhere (a custom layer such as one holding a
 * piece of an imported ONNX graph). The emitter serves both forms: inference, and the training
 * form GraphStepper builds (`ctx.training` set). In both it must take each TF.js weight through
 * `ctx.param(layer, prop, layout)` or `ctx.variable(layer, v, layout)` — never copy its values
 * into a constant — so that in the training form the weight is an initializer named after its
 * variable, trains when model.trainableWeights lists it, and its new values go back into it.
 * Ops it emits must have gradients in train/graph where a trained weight lies below them (else
 * the model falls back to TF.js, saying which op). Registering a class twice replaces its emitter.
 */
export function registerLayerEmitter(className: string, emitter: LayerEmitter): void {
  EMITTERS.set(className, emitter);
  if (!FORWARD_LAYERS.includes(className)) (FORWARD_LAYERS as string[]).push(className);
}

export interface ForwardGraph {
  /** The ONNX model: input `x` [n, ...inputShape] and output `y` [n, ...outputShape], both NHWC as TF.js has them. */
  bytes: Uint8Array;
  inputShape: number[];
  outputShape: number[];
  /** With `logits` asked for: whether `y` is the output layer's input to its softmax/sigmoid. */
  squashed: boolean;
}

/**
 * A TF.js model's inference pass (BatchNorm on its moving statistics, dropout and noise off) as an
 * ONNX graph holding the current weights. Images travel channels-first inside the graph (what
 * onnxruntime's CPU convolutions are fastest on): one Transpose after the input and one before the
 * output, which is NHWC again, so a flattened output row equals TF.js's. With `logits`, the
 * output's softmax or sigmoid is left out (`squashed` says whether there was one), as the loss
 * wants it. Returns the reason instead when some layer has no translation here; callers then run
 * the model on TF.js.
 */
export function buildForwardGraph(model: tfl.LayersModel, options: { logits?: boolean } = {}): ForwardGraph | string {
  try {
    return build(model, options.logits ?? false);
  } catch (e) {
    if (e instanceof Unsupported) return e.message;
    throw e;
  }
}

function build(model: tfl.LayersModel, logits: boolean): ForwardGraph {
  const ctx = new ForwardContext(undefined, logits);
  const { inputShape, out } = translate(ctx, model);
  const y = out.shape.length === 3 ? ctx.g.op('Transpose', [out.name], { perm: [0, 2, 3, 1] }) : out.name;
  ctx.g.output(y, 'y', ['n', ...out.shape]);
  return { bytes: encodeForward(ctx, `${model.name}_forward`), inputShape, outputShape: out.shape, squashed: ctx.squashed };
}

function translate(ctx: ForwardContext, model: tfl.LayersModel): { inputShape: number[]; out: Value } {
  const [input] = model.inputs;
  const [output] = model.outputs;
  if (!input || !output || model.inputs.length !== 1 || model.outputs.length !== 1) unsupported(`${model.name} has ${model.inputs.length} inputs and ${model.outputs.length} outputs (one of each is translated)`);
  if (input.dtype !== 'float32') unsupported(`${model.name} takes ${input.dtype} input`);
  const inputShape = sampleShape(input, `the input of ${model.name}`, ctx.training !== undefined);
  const x = ctx.g.input('x', ['n', ...inputShape]);
  const start: Value = { name: inputShape.length === 3 ? ctx.g.op('Transpose', [x], { perm: [0, 3, 1, 2] }) : x, shape: inputShape };
  return { inputShape, out: walk(ctx, model, start, true) };
}

/** A TF.js model's training pass as an ONNX graph (see buildTrainingForward). */
export interface TrainingForward extends TrainingRecord {
  /** Input `x` [n, ...inputShape] (NHWC; other ranks than images come flat), mask inputs, and the output `logits` [n, units]. */
  graph: OnnxGraph;
  inputShape: number[];
  units: number;
  /** Whether `logits` is the output layer's input to its softmax/sigmoid (false: the model outputs it as is). */
  squashed: boolean;
  /** The opset and IR version the graph needs (17 and 8 unless an imported ONNX block needs more). */
  opset: number;
  irVersion: number;
}

/** The context's graph as a ModelProto at the opset and IR version its emitters asked for. */
export function encodeForward(ctx: ForwardContext, name: string): Uint8Array {
  return encodeOnnxModel({ irVersion: ctx.irVersion, producerName: 'graft', opsets: [{ domain: '', version: ctx.opset }], graphName: name, graph: ctx.g.graph });
}

/**
 * The model's training pass as an ONNX graph: every TF.js weight an initializer named after its
 * variable in TF.js layout (rearranged in the graph), BatchNorm layers whose own flag is on in
 * training mode (recorded, for train/graph's batchNormTraining; none with `batchNormTraining` false), Dropout as x × a mask input, and
 * the output before its softmax/sigmoid (`logits`), as TF.js's engine computes the loss. Returns the
 * reason instead when some layer has no translation (in this form) here.
 */
export function buildTrainingForward(model: tfl.LayersModel, options: { batchNormTraining?: boolean } = {}): TrainingForward | string {
  const rec: TrainingRecord = { variables: [], batchNormTraining: options.batchNormTraining ?? true, batchNorms: [], dropouts: [] };
  const ctx = new ForwardContext(rec);
  try {
    const { inputShape, out } = translate(ctx, model);
    if (out.shape.length !== 1) unsupported(`${model.name} outputs shape [${out.shape.join(', ')}], not a vector`);
    ctx.g.output(out.name, 'logits', ['n', out.shape[0]!]);
    return { graph: ctx.g.graph, inputShape, units: out.shape[0]!, variables: rec.variables, batchNormTraining: rec.batchNormTraining, batchNorms: rec.batchNorms, dropouts: rec.dropouts, squashed: ctx.squashed, opset: ctx.opset, irVersion: ctx.irVersion };
  } catch (e) {
    if (e instanceof Unsupported) return e.message;
    throw e;
  }
}

/**
 * Emits every call node of `model` (nested models inline), starting from its input's value.
 * `atOutput`: whether this model's output is the translated model's (a logits graph leaves out its softmax/sigmoid).
 */
function walk(ctx: ForwardContext, model: tfl.LayersModel, start: Value, atOutput: boolean): Value {
  const values = new Map<number, Value>([[model.inputs[0]!.id, start]]);
  for (const node of modelNodes(model)) {
    const ins = node.inputs.map((t) => values.get(t.id));
    if (ins.some((v) => v === undefined)) continue;
    const inputs = ins as Value[];
    const { layer } = node;
    if (node.outputs.length !== 1) unsupported(`layer ${layer.name} (${layer.getClassName()}) has ${node.outputs.length} outputs`);
    const producesOutput = atOutput && node.outputs[0]!.id === model.outputs[0]!.id;
    if (layer instanceof tfl.LayersModel) {
      if (layer.inputs.length !== 1 || layer.outputs.length !== 1 || inputs.length !== 1) unsupported(`nested model ${layer.name} has several inputs or outputs`);
      values.set(node.outputs[0]!.id, walk(ctx, layer, inputs[0]!, producesOutput));
      continue;
    }
    const className = layer.getClassName();
    const emit = EMITTERS.get(className);
    if (!emit) unsupported(`layer ${layer.name} is a ${className}, which graft cannot run on onnxruntime yet`);
    const outShape = sampleShape(node.outputs[0]!, `the output of layer ${layer.name}`);
    ctx.atOutput = producesOutput;
    try {
      values.set(node.outputs[0]!.id, { name: emit(ctx, layer, inputs, outShape), shape: outShape });
    } catch (e) {
      if (e instanceof Unsupported) unsupported(`layer ${layer.name} (${className}): ${e.message}`);
      throw e;
    } finally {
      ctx.atOutput = false;
    }
  }
  const out = values.get(model.outputs[0]!.id);
  return out ?? unsupported(`the walk through ${model.name} did not reach its output`);
}

/**
 * One sample's static shape: a vector [units] or an image [h, w, c]; other ranks are not
 * translated, except that `flat` reads an input of another rank as one vector (graft's data comes
 * flat; a layer other than Flatten reading it then fails its own shape checks).
 */
function sampleShape(t: tfl.SymbolicTensor, what: string, flat = false): number[] {
  const shape = t.shape.slice(1);
  if (!shape.every((d): d is number => typeof d === 'number' && d > 0)) return unsupported(`${what} has an unknown size [${t.shape.join(', ')}]`);
  if (flat && shape.length !== 1 && shape.length !== 3) return [shape.reduce((a, b) => a * b, 1)];
  if (shape.length !== 1 && shape.length !== 3) return unsupported(`${what} has shape [${shape.join(', ')}] (vectors and [height, width, channels] images are translated)`);
  return shape;
}
