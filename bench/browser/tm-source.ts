// The Teachable Machine export as the bench's source, in the page: the MobileNetV2 branch of
// app/source.ts (load the TF.js model from its bytes, rebuild MobileNetV2 at the input size, copy the
// weights by layer name, [-1, 1] preprocessing inside). A copy of those few steps rather than an
// import, so the bench does not break while the app's source handling grows; node-side.mjs's
// prepareSourceNode does the same on Node's entry.
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  GraftError, MOBILENETV2_ALPHAS, buildBackboneBase, copyWeightsByName, disposeModel, loadTfjsModelFromFiles, withPreprocessing,
  type MobileNetV2Alpha, type UnfreezePolicy,
} from '../../src/browser.js';

export interface BenchSource {
  model: tfl.LayersModel;
  cut: number;
  unfreeze: UnfreezePolicy;
}

const LAST_PROJECTION = 'block_16_project';
/** MobileNetV2's last projection has make_divisible(320 α, 8) filters: that width names α. */
const projectionFilters = (alpha: number): number => Math.max(8, Math.round((320 * alpha) / 8) * 8);

export async function teachableMachineSource(modelJson: string, weights: Uint8Array, input: number): Promise<BenchSource> {
  const loaded = await loadTfjsModelFromFiles({ 'model.json': modelJson, 'weights.bin': weights }, 'teachable-machine');
  try {
    const projection = findLayer(loaded, LAST_PROJECTION);
    const filters = projection?.getWeights()[0]?.shape.at(-1);
    const alpha = MOBILENETV2_ALPHAS.find((a) => projectionFilters(a) === filters);
    if (alpha === undefined) {
      throw new GraftError('MODEL_CORRUPT', `The bench source has ${projection ? `${filters} filters in ${LAST_PROJECTION}` : `no ${LAST_PROJECTION} layer`}: not a MobileNetV2 export. Pass --tm with the Teachable Machine export.`);
    }
    const base = buildBackboneBase({ name: 'mobilenetv2', alpha: alpha as MobileNetV2Alpha }, [input, input, 3]);
    try {
      copyWeightsByName(loaded, base, 'teachable-machine');
    } catch (e) {
      disposeModel(base);
      throw e;
    }
    return { model: withPreprocessing(base, 'tf'), cut: -1, unfreeze: { from: 'block_16_expand' } };
  } finally {
    disposeModel(loaded);
  }
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
