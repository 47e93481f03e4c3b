import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { BACKBONE_PREPROCESSING, buildBackboneBase, formatBackbone, parseBackbone, withPreprocessing, type BackboneSpec } from '../models/backbones.js';
import { zooEntry } from '../models/zoo.js';
import { fetchZooWeights, loadBackboneWeights, type ZooFetchOptions } from '../io/backbone-weights.js';
import { disposeModel } from '../models/dispose.js';

export interface BackboneOptions {
  /** "vgg16", "mobilenetv2", "mobilenetv2:0.35", or a parsed spec. */
  backbone: string | BackboneSpec;
  /** Side of the square input images (the write-up: 64). Each backbone needs ≥ 32. */
  input: number;
  /**
   * 'imagenet' (the official Keras file: graft's cache, Keras's cache, or a download), 'none'
   * (random, seeded), or a file: Keras weights (.h5/.weights.h5) or a model holding the same layer
   * names (.keras, TF.js model.json such as a Teachable Machine export, a graft run). Default 'imagenet'.
   */
  weights?: string;
  seed?: number;
  zoo?: ZooFetchOptions;
}

export interface LoadedBackbone {
  model: tfl.LayersModel;
  /** e.g. "mobilenetv2:0.35 (weights: imagenet, ~/.cache/graft/weights/…), input 64×64×3, preprocessing tf". */
  description: string;
  weights: string;
}

/** A pretrained (or random) backbone taking [0, 1] RGB images, its preprocessing inside. */
export async function loadBackbone(options: BackboneOptions): Promise<LoadedBackbone> {
  const spec = typeof options.backbone === 'string' ? parseBackbone(options.backbone) : options.backbone;
  if (!Number.isInteger(options.input) || options.input < 32) {
    throw new GraftError('BAD_ARGUMENT', `${formatBackbone(spec)} needs square RGB input of at least 32×32; received --input ${options.input}. The write-up uses 64; Keras's default is 224.`);
  }
  const base = buildBackboneBase(spec, [options.input, options.input, 3], options.seed ?? 0);
  const weights = options.weights ?? 'imagenet';
  let from = weights;
  try {
    if (weights === 'imagenet') {
      from = await fetchZooWeights(zooEntry(spec, options.input), options.zoo);
      await loadBackboneWeights(base, from);
    } else if (weights !== 'none') {
      await loadBackboneWeights(base, weights);
    }
  } catch (e) {
    disposeModel(base);
    throw e;
  }
  const kind = BACKBONE_PREPROCESSING[spec.name];
  const model = withPreprocessing(base, kind);
  const source = weights === 'imagenet' ? `imagenet, ${from}` : weights === 'none' ? 'none (random)' : weights;
  return { model, weights: from, description: `${formatBackbone(spec)} (weights: ${source}), input ${options.input}×${options.input}×3, preprocessing ${kind}` };
}
