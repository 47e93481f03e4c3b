import * as tfl from '@tensorflow/tfjs-layers';
import { modelNodes } from '../models/replay.js';

/** Hidden activations the onnxruntime training path computes (forward and gradient). */
export const CHAIN_ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'tanh'] as const;
export type ChainActivation = (typeof CHAIN_ACTIVATIONS)[number];

export type ChainStep =
  | { kind: 'dense'; layer: tfl.layers.Layer; inputs: number; units: number; useBias: boolean; activation: ChainActivation | 'softmax' }
  | { kind: 'activation'; layer: tfl.layers.Layer; activation: ChainActivation | 'softmax' }
  | { kind: 'dropout'; layer: tfl.layers.Layer; rate: number; units: number }
  /** GlobalAveragePooling2D at the very start (a head on cached [h, w, c] features): no weights, no gradient needed. */
  | { kind: 'pool'; layer: tfl.layers.Layer; positions: number; channels: number };

/** A model that is a plain stack of Dense layers (with activations and dropout) on flat input. */
export interface DenseChain {
  /** Floats per sample at the first Dense layer. */
  inputSize: number;
  steps: ChainStep[];
  /** Output width (1 for a sigmoid head). */
  outputs: number;
}

/** Layers that pass a row-major flat sample through unchanged. */
const PASS_THROUGH = new Set(['Flatten', 'InputLayer']);

/**
 * The model as a Dense chain, or the reason it is not one (then training stays on TF.js). The
 * chain may run through nested models; anything else (convolutions, branches, regularisers,
 * constraints, softmax in a hidden layer) is left to TF.js.
 */
export function denseChain(model: tfl.LayersModel): DenseChain | string {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return `${model.name} has several inputs or outputs`;
  const steps: ChainStep[] = [];
  const problem = walk(model, steps);
  if (problem) return problem;
  const denses = steps.filter((s) => s.kind === 'dense');
  const first = denses[0];
  if (!first) return `${model.name} has no Dense layer`;
  const softmaxAt = steps.findIndex((s) => (s.kind === 'dense' || s.kind === 'activation') && s.activation === 'softmax');
  if (softmaxAt >= 0 && softmaxAt !== steps.length - 1) return `layer ${steps[softmaxAt]!.layer.name} applies softmax before the output`;
  const last = steps[steps.length - 1]!;
  if (last.kind === 'dropout' || last.kind === 'pool') return `${model.name} ends in a ${last.layer.getClassName()} layer`;
  const outputs = denses[denses.length - 1]!.units;
  const pool = steps[0]?.kind === 'pool' ? steps[0] : undefined;
  return { inputSize: pool ? pool.positions * pool.channels : first.inputs, steps, outputs };
}

function walk(model: tfl.LayersModel, steps: ChainStep[]): string | undefined {
  let current = model.inputs[0]!;
  for (const node of modelNodes(model)) {
    const { layer } = node;
    if (node.inputs.length !== 1 || node.outputs.length !== 1 || node.inputs[0]!.id !== current.id) {
      return `${model.name} is not a single chain of layers (at ${layer.name})`;
    }
    current = node.outputs[0]!;
    if (layer instanceof tfl.LayersModel) {
      const inner = walk(layer, steps);
      if (inner) return inner;
      continue;
    }
    const className = layer.getClassName();
    if (PASS_THROUGH.has(className)) continue;
    const config = layer.getConfig() as Record<string, unknown>;
    const inShape = node.inputs[0]!.shape;
    if (className === 'Dense') {
      for (const key of ['kernelRegularizer', 'biasRegularizer', 'activityRegularizer', 'kernelConstraint', 'biasConstraint']) {
        if (config[key] != null) return `Dense layer ${layer.name} has a ${key}`;
      }
      const activation = String(config.activation ?? 'linear');
      if (!isActivation(activation)) return `Dense layer ${layer.name} uses activation ${activation}`;
      if (inShape.length !== 2 || typeof inShape[1] !== 'number') return `Dense layer ${layer.name} reads a tensor of rank ${inShape.length}, not a flat sample`;
      steps.push({ kind: 'dense', layer, inputs: inShape[1], units: Number(config.units), useBias: config.useBias !== false, activation });
    } else if (className === 'Activation') {
      const activation = String(config.activation);
      if (!isActivation(activation)) return `Activation layer ${layer.name} uses ${activation}`;
      steps.push({ kind: 'activation', layer, activation });
    } else if (className === 'Softmax' && (config.axis === undefined || config.axis === -1)) {
      steps.push({ kind: 'activation', layer, activation: 'softmax' });
    } else if (className === 'GlobalAveragePooling2D' && steps.length === 0 && inShape.length === 4 && inShape.slice(1).every((d) => typeof d === 'number')) {
      if (config.dataFormat === 'channelsFirst') return `GlobalAveragePooling2D layer ${layer.name} is channels-first`;
      const [h, w, c] = inShape.slice(1) as number[];
      steps.push({ kind: 'pool', layer, positions: h! * w!, channels: c! });
    } else if (className === 'Dropout') {
      if (config.noiseShape != null) return `Dropout layer ${layer.name} has a noise shape`;
      if (inShape.length !== 2 || typeof inShape[1] !== 'number') return `Dropout layer ${layer.name} reads a tensor of rank ${inShape.length}`;
      steps.push({ kind: 'dropout', layer, rate: Number(config.rate), units: inShape[1] });
    } else {
      return `layer ${layer.name} is a ${className}`;
    }
  }
  return current.id === model.outputs[0]!.id ? undefined : `${model.name}'s output is not the end of its chain`;
}

function isActivation(a: string): a is ChainActivation | 'softmax' {
  return a === 'softmax' || (CHAIN_ACTIVATIONS as readonly string[]).includes(a);
}
