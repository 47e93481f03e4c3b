import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { buildMobileNetV2, MOBILENETV2_ALPHAS, type MobileNetV2Alpha } from './mobilenetv2.js';
import { applyPreprocess, type Preprocessing } from './preprocess.js';
import { replayLayers } from './replay.js';
import { buildVgg16 } from './vgg16.js';

export type BackboneName = 'vgg16' | 'mobilenetv2';
export const BACKBONES: readonly BackboneName[] = ['vgg16', 'mobilenetv2'];

export interface BackboneSpec {
  name: BackboneName;
  /** MobileNetV2 width multiplier. Default 1.0. */
  alpha?: MobileNetV2Alpha;
}

/** What each backbone's ImageNet weights expect (keras.applications' preprocess_input). */
export const BACKBONE_PREPROCESSING: Record<BackboneName, Preprocessing> = { vgg16: 'caffe', mobilenetv2: 'tf' };

/** "vgg16", "mobilenetv2", "mobilenetv2:0.35". */
export function parseBackbone(text: string): BackboneSpec {
  const [name, alphaText, ...rest] = text.trim().toLowerCase().split(':');
  if (name === 'vgg16' && alphaText === undefined) return { name };
  if (name === 'mobilenetv2' && rest.length === 0) {
    if (alphaText === undefined) return { name };
    const alpha = Number(alphaText);
    if (!(MOBILENETV2_ALPHAS as readonly number[]).includes(alpha)) {
      throw new GraftError('BAD_ARGUMENT', `--backbone ${text}: MobileNetV2's width multiplier must be one of ${MOBILENETV2_ALPHAS.join(', ')}; received ${JSON.stringify(alphaText)}.`);
    }
    return { name, alpha: alpha as MobileNetV2Alpha };
  }
  throw new GraftError('BAD_ARGUMENT', `--backbone received ${JSON.stringify(text)}; choose vgg16, mobilenetv2 or mobilenetv2:ALPHA (ALPHA one of ${MOBILENETV2_ALPHAS.join(', ')}).`);
}

export function formatBackbone(spec: BackboneSpec): string {
  return spec.name === 'mobilenetv2' ? `mobilenetv2:${spec.alpha ?? 1}` : spec.name;
}

/** The backbone exactly as keras.applications builds it (include_top=False), for loading Keras's weight files. */
export function buildBackboneBase(spec: BackboneSpec, inputShape: readonly [number, number, number], seed = 0): tfl.LayersModel {
  return spec.name === 'vgg16' ? buildVgg16({ inputShape, seed }) : buildMobileNetV2({ alpha: spec.alpha ?? 1, inputShape, seed });
}

/**
 * The same layers behind an input that takes [0, 1] pixels and a preprocessing layer. Load weights
 * into `base` first: Keras 3 weight files match layers by position. `base` is consumed.
 */
export function withPreprocessing(base: tfl.LayersModel, kind: Preprocessing): tfl.LayersModel {
  const [baseInput] = base.inputs;
  if (!baseInput || base.inputs.length !== 1) throw new GraftError('BAD_ARGUMENT', `${base.name} must have one input to take a preprocessing layer; it has ${base.inputs.length}.`);
  const input = tfl.input({ shape: baseInput.shape.slice(1) as number[], name: 'image' });
  const output = replayLayers(base, new Map([[baseInput.id, applyPreprocess(kind, input)]]));
  const model = tfl.model({ inputs: input, outputs: output, name: base.name });
  // The new model holds the layers now; give back the old container's references.
  base.dispose();
  return model;
}
