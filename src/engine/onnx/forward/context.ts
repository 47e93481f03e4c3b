import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GraphBuilder } from '../graph-builder.js';
import { applyActivation } from './activation.js';
import { convKernel, denseAsConvKernel, depthwiseKernel } from './kernels.js';
import { unsupported } from './unsupported.js';

/**
 * A tensor of the graph being built. `shape` is one sample's shape as TF.js sees it (NHWC); the
 * ONNX value itself is channels-first for images ([n, C, H, W]) and [n, units] for vectors.
 */
export interface Value {
  name: string;
  shape: number[];
}

/** Emits the ONNX nodes of one layer call and returns the name of its output value. */
export type LayerEmitter = (ctx: ForwardContext, layer: tfl.layers.Layer, inputs: Value[], outShape: number[]) => string;

/**
 * How a TF.js weight is laid out for the ONNX op reading it: 'same' as TF.js has it, 'conv'
 * [kh, kw, in, out] → [out, in, kh, kw], 'depthwise' [kh, kw, c, m] → [c·m, 1, kh, kw], 'denseConv'
 * a Dense kernel [in, out] → a 1×1 conv weight [out, in, 1, 1].
 */
export type WeightLayout = 'same' | 'conv' | 'depthwise' | 'denseConv';

/** A TF.js variable the training form reads, under its ONNX initializer name. */
export interface FormVariable {
  name: string;
  variable: tfl.LayerVariable;
  layer: tfl.layers.Layer;
}

/** What the training form records while it translates (see buildTrainingForward). */
export interface TrainingRecord {
  /** Every TF.js variable in the graph, as an initializer named after it in TF.js layout. */
  variables: FormVariable[];
  /**
   * Whether a trainable BatchNorm (a Keras layer, or a node inside an OnnxBlock) runs in training
   * mode; false (FitOptions.batchNorm 'frozen') keeps every one on its moving statistics.
   */
  batchNormTraining: boolean;
  /** BatchNorm calls that run in training mode: their node's moving-statistics inputs, and Keras's momentum. */
  batchNorms: Array<{ layer: tfl.layers.Layer; mean: string; variance: string; momentum: number }>;
  /** Dropout calls: a mask input each ([n, ...NHWC sample shape], as TF.js draws it). */
  dropouts: Array<{ layer: tfl.layers.Layer; rate: number; input: string; shape: number[] }>;
}

export class ForwardContext {
  readonly g = new GraphBuilder();
  /**
   * The opset and IR version the graph is written at: graft's own emitters need 17 (IR 8); an
   * imported ONNX block raises them to its file's, so its ops keep their meaning.
   */
  opset = 17;
  irVersion = 8;
  private weights = 0;
  private readonly converted = new Map<string, string>();

  /** Set while the call producing the model's output is emitted: with `logits`, its softmax/sigmoid is left out. */
  atOutput = false;
  /** Whether the output's softmax/sigmoid was left out (the output is then the logits). */
  squashed = false;

  /**
   * `training` is present for the training form: weights stay TF.js variables, dropout and
   * BatchNorm train. `logits` (always in the training form): the graph ends before the output's
   * softmax or sigmoid, so a loss is taken from logits as TF.js's engine takes it (train/forward.ts).
   */
  constructor(
    readonly training?: TrainingRecord,
    readonly logits = training !== undefined,
  ) {}

  /** A float32 initializer (a layer's weights, rearranged as needed). */
  weight(data: Float32Array, dims: number[], hint: string): string {
    const name = `${hint}_${this.weights++}`;
    this.g.graph.initializers.push({ name, dims, data });
    return name;
  }

  /**
   * The layer's weight `prop` (kernel, bias, gamma, …) as the tensor `layout` asks for, or undefined
   * when the layer has none. Inference: a constant rearranged here. Training: an initializer named
   * after the TF.js variable, in its own layout, rearranged by in-graph Transpose/Reshape, so each
   * trainable is one variable and its gradient has the variable's shape; a layer applied twice
   * (shared) reads the same initializer both times.
   */
  param(layer: tfl.layers.Layer, prop: string, layout: WeightLayout): string | undefined {
    const v = (layer as unknown as Record<string, tfl.LayerVariable | null | undefined>)[prop];
    return v ? this.variable(layer, v, layout) : undefined;
  }

  /**
   * One TF.js variable of `layer` as the tensor `layout` asks for (see param): for layers that keep
   * their weights elsewhere than in properties (an emitter registered from outside may). In the
   * training form the initializer is named after the variable and the variable trains when
   * `model.trainableWeights` lists it.
   */
  variable(layer: tfl.layers.Layer, v: tfl.LayerVariable, layout: WeightLayout = 'same'): string {
    const rec = this.training;
    if (!rec) {
      const t = v.read();
      if (t.dtype !== 'float32') unsupported(`${v.name} of type ${t.dtype}`);
      const data = t.dataSync() as Float32Array;
      const [a = 1, b = 1, c = 1, d = 1] = t.shape;
      // originalName: TF.js suffixes `name` (_1, _2 …) when a model is loaded twice in one process; the file must not depend on that.
      const hint = v.originalName.replace(/\//g, '_');
      if (layout === 'same') return this.weight(data, [...t.shape], hint);
      if (layout === 'conv') return this.weight(convKernel(data, a, b, c, d), [d, c, a, b], hint);
      if (layout === 'depthwise') return this.weight(depthwiseKernel(data, a, b, c, d), [c * d, 1, a, b], hint);
      return this.weight(denseAsConvKernel(data, a, b), [b, a, 1, 1], hint);
    }
    let entry = rec.variables.find((e) => e.variable === v);
    if (!entry) {
      const t = v.read();
      if (t.dtype !== 'float32') unsupported(`${v.name} of type ${t.dtype}`);
      let name = v.name;
      for (let k = 2; rec.variables.some((e) => e.name === name); k++) name = `${v.name}#${k}`;
      entry = { name, variable: v, layer };
      rec.variables.push(entry);
      this.g.graph.initializers.push({ name, dims: [...t.shape], data: (t.dataSync() as Float32Array).slice() });
    }
    if (layout === 'same') return entry.name;
    const key = `${entry.name}|${layout}`;
    let out = this.converted.get(key);
    if (!out) {
      const [a = 1, b = 1, c = 1, d = 1] = v.shape as number[];
      const g = this.g;
      if (layout === 'conv') out = g.op('Transpose', [entry.name], { perm: [3, 2, 0, 1] }, 'kernel');
      else if (layout === 'depthwise') out = g.op('Reshape', [g.op('Transpose', [entry.name], { perm: [2, 3, 0, 1] }), g.ints([c * d, 1, a, b])], undefined, 'kernel');
      else out = g.op('Reshape', [g.op('Transpose', [entry.name], { perm: [1, 0] }), g.ints([b, a, 1, 1])], undefined, 'kernel');
      this.converted.set(key, out);
    }
    return out;
  }

  /**
   * `act(z)` for a layer's activation. With `logits` the call producing the model's output leaves
   * out a softmax or sigmoid, so the loss is taken from logits (as TF.js's engine does, train/forward.ts).
   */
  activate(act: string, z: string): string {
    if (this.logits && this.atOutput && (act === 'softmax' || act === 'sigmoid')) {
      this.squashed = true;
      return z;
    }
    if (this.training) return trainingActivation(this.g, act, z);
    return applyActivation(this.g, act, z);
  }
}

/** min(relu(z), cap), differentiated as TF.js does (nothing passes at z = 0). */
export function reluCapped(g: GraphBuilder, z: string, cap: number): string {
  return g.op('Clip', [g.op('Relu', [z]), g.scalar(0), g.scalar(cap)]);
}

/**
 * Activations whose ONNX op has no gradient in graft's autodiff (Elu, Selu, Softsign), written
 * with ops that have one; the others as in inference.
 */
function trainingActivation(g: GraphBuilder, act: string, z: string): string {
  const elu = (alpha: number): string => g.op('Where', [g.op('Greater', [z, g.scalar(0)]), z, g.op('Mul', [g.op('Sub', [g.op('Exp', [z]), g.scalar(1)]), g.scalar(alpha)])]);
  switch (act) {
    case 'elu':
      return elu(1);
    case 'selu': {
      // TF.js's SELU constants (tfjs-core selu_util): scale, and scale × alpha.
      const scale = 1.0507009873554804934193349852946;
      const scaleAlpha = 1.7580993408473768599402175208123;
      const zero = g.scalar(0);
      const positive = g.op('Mul', [z, g.scalar(scale)]);
      const negative = g.op('Mul', [g.op('Sub', [g.op('Exp', [z]), g.scalar(1)]), g.scalar(scaleAlpha)]);
      return g.op('Where', [g.op('Greater', [z, zero]), positive, negative]);
    }
    case 'relu6':
      // TF.js's relu6 passes the gradient for 0 < z ≤ 6; Clip's passes at z = 0 too: Relu first.
      return reluCapped(g, z, 6);
    case 'softsign':
      return g.op('Div', [z, g.op('Add', [g.op('Abs', [z]), g.scalar(1)])]);
    default:
      return applyActivation(g, act, z);
  }
}

/** The layer's config (camelCase keys, as TF.js's getConfig gives them). */
export function configOf(layer: tfl.layers.Layer): Record<string, unknown> {
  return layer.getConfig() as Record<string, unknown>;
}

/** Image layers must be channels-last: graft feeds NHWC and the converter assumes it. */
export function channelsLast(layer: tfl.layers.Layer): Record<string, unknown> {
  const c = configOf(layer);
  const f = c.dataFormat;
  if (f !== undefined && f !== null && f !== 'channelsLast' && f !== 'channels_last') unsupported(`data format ${JSON.stringify(f)}`);
  return c;
}

/** A weight the layer holds as a property (kernel, bias, gamma, …), or undefined when it has none. */
export function variable(layer: tfl.layers.Layer, prop: string): { data: Float32Array; shape: number[] } | undefined {
  const v = (layer as unknown as Record<string, { read(): tf.Tensor } | null | undefined>)[prop];
  if (!v) return undefined;
  const t = v.read();
  if (t.dtype !== 'float32') unsupported(`${prop} of type ${t.dtype}`);
  return { data: t.dataSync() as Float32Array, shape: t.shape };
}

export function requireVariable(layer: tfl.layers.Layer, prop: string): { data: Float32Array; shape: number[] } {
  return variable(layer, prop) ?? unsupported(`no ${prop} weight (is the layer built?)`);
}

/** One input of image rank ([h, w, c]). */
export function image(v: Value): [number, number, number] {
  if (v.shape.length !== 3) unsupported(`input of shape [${v.shape.join(', ')}] (an image [height, width, channels] was expected)`);
  return v.shape as [number, number, number];
}

/** An NHWC axis of a sample's tensor (negative counts from the end) as its ONNX axis. */
export function onnxAxis(axis: unknown, sampleRank: number): number {
  const rank = sampleRank + 1;
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -rank || axis >= rank) return unsupported(`axis ${JSON.stringify(axis)}`);
  const a = axis < 0 ? axis + rank : axis;
  if (a === 0) return unsupported('an operation over the batch axis');
  if (rank !== 4) return a;
  // NHWC → NCHW: H 1 → 2, W 2 → 3, C 3 → 1.
  return a === 3 ? 1 : a + 1;
}
