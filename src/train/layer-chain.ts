// Retired from training (GraphStepper replaced the per-layer chain engine); kept only as the
// reference test/train/graph/network.test.ts compares the autodiff against. Delete with that test's reference.
import * as tfl from '@tensorflow/tfjs-layers';
import { modelNodes } from '../models/replay.js';
import { pair, tfPads } from '../engine/onnx/forward/tf-padding.js';

/** Activations the onnxruntime training path computes (forward and gradient). */
export const CHAIN_ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'tanh'] as const;
export type ChainActivation = (typeof CHAIN_ACTIVATIONS)[number];

/** A per-sample NHWC shape ([h, w, c]) or a flat width ([units]). */
export type SampleShape = number[];

type Act = ChainActivation | 'softmax';

/** One layer of a CNN chain, with the static shapes the step graph needs. `pads` are ONNX [top, left, bottom, right]. */
export type LayerStep =
  | { kind: 'conv'; layer: tfl.layers.Layer; depthwise: boolean; in: SampleShape; out: SampleShape; kernel: [number, number]; strides: [number, number]; pads: number[]; useBias: boolean; activation: ChainActivation }
  | { kind: 'bn'; layer: tfl.layers.Layer; in: SampleShape; epsilon: number; momentum: number }
  | { kind: 'act'; layer: tfl.layers.Layer; in: SampleShape; activation: Act }
  | { kind: 'pad'; layer: tfl.layers.Layer; in: SampleShape; pads: number[] }
  | { kind: 'pool'; layer: tfl.layers.Layer; op: 'max' | 'avg'; in: SampleShape; out: SampleShape; kernel: [number, number]; strides: [number, number]; pads: number[] }
  | { kind: 'gap'; layer: tfl.layers.Layer; in: SampleShape }
  | { kind: 'flatten'; layer: tfl.layers.Layer; in: SampleShape }
  | { kind: 'dense'; layer: tfl.layers.Layer; in: SampleShape; units: number; useBias: boolean; activation: Act }
  | { kind: 'dropout'; layer: tfl.layers.Layer; in: SampleShape; rate: number }
  | { kind: 'add'; layer: tfl.layers.Layer; in: SampleShape }
  | { kind: 'rescale'; layer: tfl.layers.Layer; in: SampleShape; scale: number; offset: number };

/**
 * A model as graft's onnxruntime path trains it: image layers ending in Dense layers (the trainable
 * top of a CNN), in an order where every step comes after the steps it reads. Mostly a chain; Add
 * layers join branches (residual blocks).
 */
export interface LayerChain {
  sampleShape: SampleShape;
  steps: LayerStep[];
  /** Per step, the steps whose outputs it reads (−1: the model's input); one each, two or more for an Add. */
  sources: number[][];
  /** Output width (1 for a sigmoid head). */
  outputs: number;
}

export type WeightedStep = Extract<LayerStep, { kind: 'conv' | 'bn' | 'dense' }>;

export function isWeighted(s: LayerStep): s is WeightedStep {
  return s.kind === 'conv' || s.kind === 'bn' || s.kind === 'dense';
}

/** Shapes of a weighted layer's variables, in getWeights() order (TF layouts). */
export function weightShapes(s: WeightedStep): number[][] {
  if (s.kind === 'bn') {
    const c = s.in[s.in.length - 1]!;
    return [[c], [c], [c], [c]];
  }
  if (s.kind === 'dense') return s.useBias ? [[s.in[0]!, s.units], [s.units]] : [[s.in[0]!, s.units]];
  const cin = s.in[2]!;
  const cout = s.out[2]!;
  const kernel = s.depthwise ? [...s.kernel, cin, 1] : [...s.kernel, cin, cout];
  return s.useBias ? [kernel, [cout]] : [kernel];
}

/** Indices (into getWeights()) of the variables gradients update: BatchNorm's moving statistics are not among them. */
export function trainedIndices(s: WeightedStep): number[] {
  return s.kind === 'bn' ? [0, 1] : weightShapes(s).map((_, i) => i);
}

const REGULARISERS = ['kernelRegularizer', 'biasRegularizer', 'activityRegularizer', 'kernelConstraint', 'biasConstraint', 'depthwiseRegularizer', 'depthwiseConstraint', 'betaRegularizer', 'gammaRegularizer', 'betaConstraint', 'gammaConstraint'];

/**
 * The model as steps of conv/BatchNorm/pooling/Dense layers joined by Adds (the onnxruntime CNN
 * training path), or the reason it cannot be. Anything unlisted stays on TF.js.
 */
export function layerChain(model: tfl.LayersModel): LayerChain | string {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return `${model.name} has several inputs or outputs`;
  const shape = model.inputs[0]!.shape.slice(1);
  if (!shape.every((d) => typeof d === 'number')) return `${model.name} has an input of unknown size`;
  const steps: LayerStep[] = [];
  const sources: number[][] = [];
  const producer = new Map<number, number>([[model.inputs[0]!.id, -1]]);
  const problem = walk(model, steps, sources, producer);
  if (problem) return problem;
  if (producer.get(model.outputs[0]!.id) !== steps.length - 1) return `${model.name}'s output is not its last layer`;
  const last = steps[steps.length - 1];
  if (!last || !(last.kind === 'dense' || last.kind === 'act')) return `${model.name} does not end in a Dense or Activation layer`;
  const softmaxAt = steps.findIndex((s) => (s.kind === 'dense' || s.kind === 'act') && s.activation === 'softmax');
  if (softmaxAt >= 0 && softmaxAt !== steps.length - 1) return `layer ${steps[softmaxAt]!.layer.name} applies softmax before the output`;
  const outShape = model.outputs[0]!.shape;
  if (outShape.length !== 2 || typeof outShape[1] !== 'number') return `${model.name}'s output is not a vector`;
  // Only [h, w, c] images keep their shape: any other sample is fed flat (Flatten of it is a no-op).
  const sampleShape = shape.length === 3 ? (shape as number[]) : [shape.reduce<number>((a, b) => a * (b as number), 1)];
  return { sampleShape, steps, sources, outputs: outShape[1] };
}

/** Appends the model's layers as steps; `producer` maps each tensor to the step that makes it (−1: the input). */
function walk(model: tfl.LayersModel, steps: LayerStep[], sources: number[][], producer: Map<number, number>): string | undefined {
  for (const node of modelNodes(model)) {
    const { layer } = node;
    const from = node.inputs.map((t) => producer.get(t.id));
    if (from.some((p) => p === undefined)) return `${model.name} reads a tensor graft cannot trace (at ${layer.name})`;
    if (node.outputs.length !== 1) return `layer ${layer.name} has several outputs`;
    const out = node.outputs[0]!;
    if (layer instanceof tfl.LayersModel) {
      if (from.length !== 1 || layer.inputs.length !== 1 || layer.outputs.length !== 1) return `nested model ${layer.name} has several inputs or outputs`;
      producer.set(layer.inputs[0]!.id, from[0]!);
      const inner = walk(layer, steps, sources, producer);
      if (inner) return inner;
      const made = producer.get(layer.outputs[0]!.id);
      if (made === undefined) return `nested model ${layer.name}'s output is not reached from its input`;
      producer.set(out.id, made);
      continue;
    }
    const inShapes = node.inputs.map((t) => t.shape.slice(1));
    const outShape = out.shape.slice(1);
    if (![...inShapes, outShape].every((sh) => sh.every((d) => typeof d === 'number'))) return `layer ${layer.name} has a shape of unknown size`;
    let step: LayerStep | string | undefined;
    if (layer.getClassName() === 'Add') {
      const same = inShapes.every((sh) => sh.join() === outShape.join());
      step = same ? { kind: 'add', layer, in: outShape as number[] } : `Add layer ${layer.name} broadcasts (inputs ${inShapes.map((sh) => `[${sh.join(', ')}]`).join(', ')})`;
    } else if (from.length !== 1) {
      return `layer ${layer.name} (a ${layer.getClassName()}) reads ${from.length} tensors`;
    } else {
      step = describe(layer, inShapes[0] as number[], outShape as number[]);
    }
    if (typeof step === 'string') return step;
    // One set of weights per step: the stepper keeps and writes back each layer's weights once.
    if (step && isWeighted(step) && steps.some((t) => t.layer === layer)) return `layer ${layer.name} is applied more than once (shared weights)`;
    if (step) {
      steps.push(step);
      sources.push(from as number[]);
      producer.set(out.id, steps.length - 1);
    } else {
      producer.set(out.id, from[0]!);
    }
  }
  return undefined;
}

/** One layer as a chain step; undefined for layers that change nothing (InputLayer); a string says why not. */
function describe(layer: tfl.layers.Layer, inS: number[], outS: number[]): LayerStep | string | undefined {
  const className = layer.getClassName();
  const c = layer.getConfig() as Record<string, unknown>;
  for (const key of REGULARISERS) if (c[key] != null) return `${className} layer ${layer.name} has a ${key}`;
  if (c.dataFormat === 'channelsFirst') return `${className} layer ${layer.name} is channels-first`;
  const image = inS.length === 3;
  try {
    switch (className) {
      case 'InputLayer':
        return undefined;
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const depthwise = className === 'DepthwiseConv2D';
        if (!image) return `${className} layer ${layer.name} reads a tensor of rank ${inS.length + 1}`;
        if (depthwise && Number(c.depthMultiplier ?? 1) !== 1) return `DepthwiseConv2D layer ${layer.name} has depth multiplier ${String(c.depthMultiplier)}`;
        const dil = pair(c.dilationRate ?? 1, 'dilation');
        if (dil[0] !== 1 || dil[1] !== 1) return `${className} layer ${layer.name} is dilated`;
        const activation = String(c.activation ?? 'linear');
        if (!isActivation(activation) || activation === 'softmax') return `${className} layer ${layer.name} uses activation ${activation}`;
        const kernel = pair(c.kernelSize, 'kernel size');
        const strides = pair(c.strides ?? 1, 'strides');
        const pads = tfPads(c.padding ?? 'valid', inS, kernel, strides);
        return { kind: 'conv', layer, depthwise, in: inS, out: outS, kernel, strides, pads, useBias: c.useBias !== false, activation };
      }
      case 'BatchNormalization': {
        const axis = Number(c.axis ?? -1);
        if (axis !== -1 && axis !== inS.length) return `BatchNormalization layer ${layer.name} normalises axis ${axis}`;
        if (c.center === false || c.scale === false) return `BatchNormalization layer ${layer.name} has no beta or gamma`;
        return { kind: 'bn', layer, in: inS, epsilon: Number(c.epsilon ?? 1e-3), momentum: Number(c.momentum ?? 0.99) };
      }
      case 'Activation': {
        const activation = String(c.activation);
        if (!isActivation(activation)) return `Activation layer ${layer.name} uses ${activation}`;
        return { kind: 'act', layer, in: inS, activation };
      }
      case 'ReLU': {
        const max = c.maxValue;
        if (max == null) return { kind: 'act', layer, in: inS, activation: 'relu' };
        // relu then clip(0, 6): the same values and gradient (0 < z ≤ 6) as relu6.
        if (Number(max) === 6) return { kind: 'act', layer, in: inS, activation: 'relu6' };
        return `ReLU layer ${layer.name} has max value ${String(max)}`;
      }
      case 'Softmax':
        if (c.axis !== undefined && c.axis !== -1) return `Softmax layer ${layer.name} runs over axis ${String(c.axis)}`;
        return { kind: 'act', layer, in: inS, activation: 'softmax' };
      case 'Rescaling': {
        // x·scale + offset (graft's and Keras's input preprocessing); scalars only.
        const [scale, offset] = [c.scale ?? 1, c.offset ?? 0];
        if (typeof scale !== 'number' || typeof offset !== 'number') return `Rescaling layer ${layer.name} scales per channel`;
        return { kind: 'rescale', layer, in: inS, scale, offset };
      }
      case 'ZeroPadding2D': {
        if (!image) return `ZeroPadding2D layer ${layer.name} reads a tensor of rank ${inS.length + 1}`;
        const [top, bottom, left, right] = zeroPads(c.padding) as [number, number, number, number];
        return { kind: 'pad', layer, in: inS, pads: [top, left, bottom, right] };
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        if (!image) return `${className} layer ${layer.name} reads a tensor of rank ${inS.length + 1}`;
        const kernel = pair(c.poolSize ?? 2, 'pool size');
        const strides = pair(c.strides ?? kernel, 'strides');
        const op = className === 'MaxPooling2D' ? 'max' : 'avg';
        // MaxUnpool (the max-pool gradient) writes each index once: overlapping windows would need a summing scatter.
        if (op === 'max' && (strides[0] < kernel[0] || strides[1] < kernel[1])) return `MaxPooling2D layer ${layer.name} has overlapping windows`;
        return { kind: 'pool', layer, op, in: inS, out: outS, kernel, strides, pads: tfPads(c.padding ?? 'valid', inS, kernel, strides) };
      }
      case 'GlobalAveragePooling2D':
        if (!image || c.keepDims === true) return `GlobalAveragePooling2D layer ${layer.name} is not a plain [h, w, c] → [c] pooling`;
        return { kind: 'gap', layer, in: inS };
      case 'Flatten':
        // Row-major data is already flat unless it is an image the graph holds in its own layout.
        return inS.length !== 3 ? undefined : { kind: 'flatten', layer, in: inS };
      case 'Dense': {
        const activation = String(c.activation ?? 'linear');
        if (!isActivation(activation)) return `Dense layer ${layer.name} uses activation ${activation}`;
        if (inS.length !== 1) return `Dense layer ${layer.name} reads a tensor of rank ${inS.length + 1}, not a flat sample`;
        return { kind: 'dense', layer, in: inS, units: Number(c.units), useBias: c.useBias !== false, activation };
      }
      case 'Dropout':
        if (c.noiseShape != null) return `Dropout layer ${layer.name} has a noise shape`;
        return { kind: 'dropout', layer, in: inS, rate: Number(c.rate) };
      default:
        return `layer ${layer.name} is a ${className}`;
    }
  } catch (e) {
    return `layer ${layer.name}: ${(e as Error).message}`;
  }
}

/** ZeroPadding2D's padding config as [top, bottom, left, right]. */
function zeroPads(p: unknown): number[] {
  if (typeof p === 'number') return [p, p, p, p];
  if (Array.isArray(p) && p.length === 2) {
    const [h, w] = p as unknown[];
    const two = (v: unknown): number[] => (typeof v === 'number' ? [v, v] : (v as number[]));
    return [...two(h), ...two(w)];
  }
  return [1, 1, 1, 1];
}

function isActivation(a: string): a is Act {
  return a === 'softmax' || (CHAIN_ACTIVATIONS as readonly string[]).includes(a);
}
