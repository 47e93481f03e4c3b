import type * as tfl from '@tensorflow/tfjs-layers';
import {
  GraftError, MOBILENETV2_ALPHAS, buildBackboneBase, copyWeightsByName, disposeModel, loadTfjsModelFromFiles, withPreprocessing,
  type MobileNetV2Alpha, type UnfreezePolicy,
} from '../src/browser.js';
import type { SourceFiles } from './protocol.js';

export interface PreparedSource {
  model: tfl.LayersModel;
  /** Side of the square input the model takes. */
  input: number;
  /** The last reused layer (negative: from the end). */
  cut: number | string;
  unfreeze: UnfreezePolicy;
  description: string;
}

/** MobileNetV2's last projection has make_divisible(320 α, 8) filters: that width names α. */
const LAST_PROJECTION = 'block_16_project';
const projectionFilters = (alpha: number): number => Math.max(8, Math.round((320 * alpha) / 8) * 8);

/**
 * A dropped TF.js model as a transfer source. One holding Keras's MobileNetV2 (a Teachable Machine
 * export nests one) is rebuilt at the chosen input size with its weights copied by layer name and
 * its [-1, 1] preprocessing inside, then reused whole with its last block unfrozen later (graft's
 * seed --cnn recipe). Any other model keeps its own input size and loses its output layer.
 */
export async function prepareSource(files: SourceFiles, input: number): Promise<PreparedSource> {
  const loaded = await loadTfjsModelFromFiles({ 'model.json': files.modelJson, 'weights.bin': files.weights }, files.name);
  let kept = false;
  try {
    const projection = findLayer(loaded, LAST_PROJECTION);
    if (projection) return mobileNetFrom(loaded, projection, files.name, input);
    const shape = loaded.inputs[0]?.shape ?? [];
    const side = shape[1];
    if (shape.length !== 4 || shape[3] !== 3 || typeof side !== 'number' || shape[2] !== side) {
      throw new GraftError('SHAPE_MISMATCH', `${files.name} takes input of shape [${shape.join(', ')}]; the app feeds square RGB images [n, side, side, 3]. Drop an image model.`);
    }
    kept = true;
    return { model: loaded, input: side, cut: -2, unfreeze: 'all', description: `${loaded.name} from ${files.name}, input ${side}×${side}×3, output layer replaced` };
  } finally {
    // The MobileNetV2 branch copies what it needs into a new model.
    if (!kept) disposeModel(loaded);
  }
}

function mobileNetFrom(loaded: tfl.LayersModel, projection: tfl.layers.Layer, name: string, input: number): PreparedSource {
  const filters = (projection.getWeights()[0]?.shape ?? []).at(-1);
  const alpha = MOBILENETV2_ALPHAS.find((a) => projectionFilters(a) === filters);
  if (alpha === undefined) {
    throw new GraftError('MODEL_CORRUPT', `${name}: ${LAST_PROJECTION} has ${filters} filters, which matches no MobileNetV2 width (${MOBILENETV2_ALPHAS.join(', ')}). Drop an unmodified MobileNetV2 export.`);
  }
  if (!Number.isInteger(input) || input < 32) throw new GraftError('BAD_ARGUMENT', `MobileNetV2 needs an input of at least 32×32; received ${input}. Choose 32 or more.`);
  const base = buildBackboneBase({ name: 'mobilenetv2', alpha: alpha as MobileNetV2Alpha }, [input, input, 3]);
  try {
    copyWeightsByName(loaded, base, name);
  } catch (e) {
    disposeModel(base);
    throw e;
  }
  return {
    model: withPreprocessing(base, 'tf'),
    input,
    cut: -1,
    unfreeze: { from: 'block_16_expand' },
    description: `MobileNetV2 α ${alpha} from ${name}, rebuilt at ${input}×${input}×3 (ImageNet weights, pixels scaled to [-1, 1] inside)`,
  };
}

function findLayer(model: tfl.LayersModel, name: string): tfl.layers.Layer | undefined {
  for (const layer of model.layers) {
    if (layer.name === name) return layer;
    if ('layers' in layer) {
      const inner = findLayer(layer as unknown as tfl.LayersModel, name);
      if (inner) return inner;
    }
  }
  return undefined;
}
