import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { OnnxNode, OnnxTensor } from '../../engine/onnx/model-proto.js';
import { runOnnxOnTf } from '../../engine/onnx/tfjs/run.js';
import { nodeFromJson, tensorFromJson, type JsonNode, type JsonTensor } from './serial.js';
import { weightProperty } from './emitter.js';
import { GraftError } from '../../errors.js';

/** What an OnnxBlock holds: a piece of an ONNX graph with one input and one output tensor. */
export interface OnnxBlockSpec {
  /** The piece's nodes, in an order that computes every input before it is read. */
  nodes: JsonNode[];
  /** The tensor the block reads: the previous block's output, or graft's image batch. */
  input: string;
  /** The tensor it returns. */
  output: string;
  /** Float initializers held as the layer's TF.js weights, in getWeights() order; `name` is the ONNX name. */
  weights: Array<{ name: string; dims: number[]; trainable: boolean }>;
  /** Everything else the nodes read from the file (shapes, indices, scalar constants). */
  constants: JsonTensor[];
  /** The output's shape per sample (no batch axis). */
  outputShape: number[];
  /** The default-domain opset and the IR version of the file the nodes came from: their meaning depends on them. */
  opset?: number;
  irVersion?: number;
}

type LayerArgs = ConstructorParameters<typeof tfl.layers.Layer>[0];

/**
 * A layer of a TF.js model that computes a piece of an imported ONNX graph (a PyTorch block such as
 * ResNet's `layer4`). Its weights are the piece's ONNX initializers, under TF.js-safe names, so the
 * rest of graft — freezing by layer, checkpoints, saving a run, the TF.js engine (its own autodiff
 * through the ops) — treats it as any other layer. The forward pass runs the nodes on TF.js ops
 * (src/engine/onnx/tfjs/); the onnxruntime engine splices the same nodes into its graphs instead.
 * BatchNormalization inside trains while the block does, unless the kwarg `batchNormTraining` is false;
 * a frozen block's runs in inference mode: the pretrained statistics are kept.
 */
export class OnnxBlock extends tfl.layers.Layer {
  static className = 'OnnxBlock';
  readonly spec: OnnxBlockSpec;
  /** The nodes, decoded once. */
  readonly nodes: OnnxNode[];
  readonly constants: OnnxTensor[];
  /** The weights in `spec.weights` order (TF.js's own `weights` order changes with trainability). */
  private vars: tfl.LayerVariable[] = [];

  constructor(args: LayerArgs & { onnx: OnnxBlockSpec | CarriedSpec }) {
    super(args);
    this.spec = 'name' in args.onnx ? parseSpec(args.onnx.name, args.name) : args.onnx;
    this.nodes = this.spec.nodes.map(nodeFromJson);
    this.constants = this.spec.constants.map(tensorFromJson);
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    void inputShape;
    const taken = new Set<string>();
    this.vars = this.spec.weights.map((w) => this.addWeight(weightName(w.name, taken), w.dims, 'float32', tfl.initializers.zeros(), undefined, w.trainable));
    // The onnxruntime translation reads weights as layer properties (ctx.param).
    this.vars.forEach((v, i) => Object.defineProperty(this, weightProperty(i), { value: v, configurable: true }));
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [shape[0] ?? null, ...this.spec.outputShape];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs?: tf.serialization.ConfigDict): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    // A trainable block trains its BatchNorm (batch statistics, running averages moved), unless the
    // caller keeps BatchNorm on its statistics (train/forward.ts's batchNormTraining, FitOptions.batchNorm 'frozen').
    const training = kwargs?.training === true && this.trainable && kwargs.batchNormTraining !== false;
    return tf.tidy(() => {
      const values = new Map<string, tf.Tensor>([[this.spec.input, x]]);
      this.spec.weights.forEach((w, i) => values.set(w.name, this.vars[i]!.read()));
      for (const c of this.constants) values.set(c.name, constantTensor(c));
      const opset = this.spec.opset ?? 13;
      if (!training) return runOnnxOnTf(this.nodes, values, [this.spec.output], { opset })[0]!;
      const { nodes, running } = this.trainingNodes();
      const [y, ...moved] = runOnnxOnTf(nodes, values, [this.spec.output, ...running.map((r) => r.output)], { opset });
      running.forEach((r, k) => this.vars[this.spec.weights.findIndex((w) => w.name === r.weight)]!.write(moved[k]!));
      return y!;
    });
  }

  /** The nodes with every inference BatchNormalization in training mode, and where its moved running averages go (built once: call runs every training batch). */
  trainingNodes(): { nodes: OnnxNode[]; running: Array<{ output: string; weight: string }> } {
    this.trainingForm ??= this.buildTrainingNodes();
    return this.trainingForm;
  }

  private trainingForm: { nodes: OnnxNode[]; running: Array<{ output: string; weight: string }> } | undefined;

  private buildTrainingNodes(): { nodes: OnnxNode[]; running: Array<{ output: string; weight: string }> } {
    const running: Array<{ output: string; weight: string }> = [];
    const nodes = this.nodes.map((n) => {
      if (n.op !== 'BatchNormalization' || n.outputs.length > 1 || n.attrs?.training_mode === 1) return n;
      const [mean, variance] = [n.inputs[3]!, n.inputs[4]!];
      if (!this.spec.weights.some((w) => w.name === mean) || !this.spec.weights.some((w) => w.name === variance)) return n;
      running.push({ output: `${mean}.new`, weight: mean }, { output: `${variance}.new`, weight: variance });
      return { ...n, outputs: [n.outputs[0]!, `${mean}.new`, `${variance}.new`], attrs: { ...n.attrs, training_mode: 1 } };
    });
    return { nodes, running };
  }

  /** The weight holding ONNX initializer `name`'s values (spec order), for importers and the onnxruntime engine. */
  variable(index: number): tfl.LayerVariable {
    const v = this.vars[index];
    if (!v) throw new Error(`OnnxBlock ${this.name}: no weight ${index} (built: ${this.built})`);
    return v;
  }

  /** The ONNX initializer name a weight of this layer holds (freeze policies match it). */
  onnxWeightName(v: tfl.LayerVariable): string | undefined {
    const i = this.vars.indexOf(v);
    return i < 0 ? undefined : this.spec.weights[i]!.name;
  }

  override getConfig(): tf.serialization.ConfigDict {
    const carried: CarriedSpec & tf.serialization.ConfigDict = { name: JSON.stringify(this.spec) };
    return { ...super.getConfig(), onnx: carried };
  }
}

/**
 * The spec as it travels in a model config: TF.js rewrites every string of a config between
 * camelCase and snake_case on the way to and from model.json (op names, tensor names and ONNX
 * attribute names would not survive), except a string under the key `name`; so the spec goes as
 * JSON text under that key.
 */
interface CarriedSpec {
  name: string;
}

function parseSpec(text: string, layer: string | undefined): OnnxBlockSpec {
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch {
    spec = undefined;
  }
  const s = spec as Partial<OnnxBlockSpec> | undefined;
  if (!s || !Array.isArray(s.nodes) || typeof s.input !== 'string' || typeof s.output !== 'string' || !Array.isArray(s.weights) || !Array.isArray(s.constants) || !Array.isArray(s.outputShape)) {
    throw new GraftError('MODEL_CORRUPT', `The OnnxBlock layer ${JSON.stringify(layer ?? '?')} has a damaged description (its config's onnx.name should hold the block's nodes, input, output, weights, constants and output shape as JSON). Save the model again from its source.`);
  }
  return s as OnnxBlockSpec;
}
tf.serialization.registerClass(OnnxBlock);

export function isOnnxBlock(layer: tfl.layers.Layer): layer is OnnxBlock {
  return layer instanceof OnnxBlock;
}

/**
 * A TF.js variable name for an ONNX initializer: TF.js allows letters, digits and `-._/` only
 * (PyTorch exports names like `onnx::Conv_193`), and names within a layer must differ.
 */
export function weightName(onnxName: string, taken: Set<string>): string {
  let base = onnxName.replace(/[^-A-Za-z0-9._/]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  if (base === '') base = 'w';
  let name = base;
  for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
  taken.add(name);
  return name;
}

/** A constant as TF.js holds it: integers as int32 (TF.js has no int64), bool as bool. */
function constantTensor(c: OnnxTensor): tf.Tensor {
  const d = c.data;
  if (d instanceof Float32Array || d instanceof Float64Array) return tf.tensor(Float32Array.from(d), c.dims, 'float32');
  if (d instanceof Uint8Array && c.dataType === 9) return tf.tensor(d, c.dims, 'bool');
  return tf.tensor(Int32Array.from(d as ArrayLike<number | bigint>, (v) => clampInt32(Number(v))), c.dims, 'int32');
}

/** int64 "to the end" sentinels (Slice's ends) fit int32 once clamped: every op reads them the same. */
function clampInt32(v: number): number {
  return Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, v));
}
