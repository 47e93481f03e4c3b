import type * as tfl from '@tensorflow/tfjs-layers';
import {
  GraftError, MOBILENETV2_ALPHAS, buildBackboneBase, copyWeightsByName, disposeModel, isGraftError, loadKerasModelFromBytes, loadKerasWeightsFromBytes,
  loadOnnxSourceFromBytes, loadTfjsModelFromFiles, withPreprocessing, type MobileNetV2Alpha, type UnfreezePolicy,
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
/** graft's seed --cnn recipe for MobileNetV2: the last block is unfrozen for fine-tuning. */
const MOBILENET_UNFREEZE: UnfreezePolicy = { from: 'block_16_expand' };

/**
 * The chosen source as a model to transfer from. A model holding Keras's MobileNetV2 (a Teachable
 * Machine export nests one; a Keras MobileNetV2 is one) is rebuilt at the chosen input size with its
 * weights copied by layer name and its [-1, 1] preprocessing inside, then reused whole with its last
 * block unfrozen later (graft's seed --cnn recipe). Any other TF.js or Keras model keeps its own input
 * size and loses its output layer; an ONNX model is cut where graft's import cuts it.
 */
export async function prepareSource(files: SourceFiles, input: number): Promise<PreparedSource> {
  switch (files.kind) {
    case 'tfjs':
      return fromLayersModel(await loadTfjsModelFromFiles({ 'model.json': files.modelJson, 'weights.bin': files.weights }, files.name), files.name, input);
    case 'keras':
      return fromLayersModel((await loadKerasModelFromBytes(files.bytes, files.name)).model, files.name, input);
    case 'onnx':
      return fromOnnx(files, input);
    case 'builtin':
      return builtin(files, input);
  }
}

async function fromLayersModel(loaded: tfl.LayersModel, name: string, input: number): Promise<PreparedSource> {
  let kept = false;
  try {
    const projection = findLayer(loaded, LAST_PROJECTION);
    if (projection) return await mobileNetFrom(name, input, alphaOf(projection, name), (base) => copyWeightsByName(loaded, base, name), 'ImageNet weights');
    const shape = loaded.inputs[0]?.shape ?? [];
    const side = shape[1];
    if (shape.length !== 4 || shape[3] !== 3 || typeof side !== 'number' || shape[2] !== side) {
      throw new GraftError('SHAPE_MISMATCH', `${name} takes input of shape [${shape.join(', ')}]; the app feeds square RGB images [n, side, side, 3]. Drop an image model.`);
    }
    kept = true;
    return { model: loaded, input: side, cut: -2, unfreeze: 'all', description: `${loaded.name} from ${name}, input ${side}×${side}×3, output layer replaced` };
  } finally {
    // The MobileNetV2 branch copies what it needs into a new model.
    if (!kept) disposeModel(loaded);
  }
}

function alphaOf(projection: tfl.layers.Layer, name: string): MobileNetV2Alpha {
  const filters = (projection.getWeights()[0]?.shape ?? []).at(-1);
  const alpha = MOBILENETV2_ALPHAS.find((a) => projectionFilters(a) === filters);
  if (alpha === undefined) {
    throw new GraftError('MODEL_CORRUPT', `${name}: ${LAST_PROJECTION} has ${filters} filters, which matches no MobileNetV2 width (${MOBILENETV2_ALPHAS.join(', ')}). Drop an unmodified MobileNetV2 export.`);
  }
  return alpha;
}

/** Keras's MobileNetV2 at `input`, its weights filled by `fill`, pixels scaled to [-1, 1] inside. */
async function mobileNetFrom(name: string, input: number, alpha: MobileNetV2Alpha, fill: (base: tfl.LayersModel) => void | Promise<void>, weights: string): Promise<PreparedSource> {
  if (!Number.isInteger(input) || input < 32) throw new GraftError('BAD_ARGUMENT', `MobileNetV2 needs an input of at least 32×32; received ${input}. Choose 32 or more.`);
  const base = buildBackboneBase({ name: 'mobilenetv2', alpha }, [input, input, 3]);
  try {
    await fill(base);
  } catch (e) {
    disposeModel(base);
    throw e;
  }
  return {
    model: withPreprocessing(base, 'tf'),
    input,
    cut: -1,
    unfreeze: MOBILENET_UNFREEZE,
    description: `MobileNetV2 α ${alpha} from ${name}, rebuilt at ${input}×${input}×3 (${weights}, pixels scaled to [-1, 1] inside)`,
  };
}

function builtin(files: Extract<SourceFiles, { kind: 'builtin' }>, input: number): Promise<PreparedSource> {
  return mobileNetFrom(files.name, input, files.alpha, (base) => loadKerasWeightsFromBytes(base, files.weights, files.name), "Keras applications' ImageNet weights");
}

async function fromOnnx(files: Extract<SourceFiles, { kind: 'onnx' }>, input: number): Promise<PreparedSource> {
  const options = { preprocess: files.preprocess, ...(files.layout && { layout: files.layout }) };
  let source;
  let anySize = false;
  try {
    source = await loadOnnxSourceFromBytes(files.bytes, files.name, options);
  } catch (e) {
    // The file does not fix its image size: train at the page's input size. (graft's import says
    // so with this wording; every other error is the user's to see.)
    if (!(isGraftError(e) && e.code === 'BAD_ARGUMENT' && /accepts images of any/.test(e.message))) throw e;
    anySize = true;
    source = await loadOnnxSourceFromBytes(files.bytes, files.name, { ...options, input });
  }
  const [h, w, c] = source.info.imageShape;
  if (h !== w || c !== 3 || h === undefined) {
    disposeModel(source.model);
    throw new GraftError('SHAPE_MISMATCH', `${files.name} takes images of shape [${source.info.imageShape.join(', ')}] (height, width, channels); the app feeds square RGB images. Drop a model with a square 3-channel input.`);
  }
  return {
    model: source.model,
    input: h,
    // graft's import cut the model at its features (before the final classifier): reused whole.
    cut: -1,
    unfreeze: { last: 1 },
    description: `ONNX ${files.name} (${source.info.producer || 'unknown producer'}), input ${h}×${h}×3${anySize ? ' (the model accepts any size: the input size setting)' : ''}, ${files.preprocess} preprocessing, cut at ${source.info.cut}, ${source.info.blocks.length} blocks`,
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
