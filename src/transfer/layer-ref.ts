import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';

/** A layer named by its name or by its index in `model.layers` (negative counts from the end). */
export type LayerRef = string | number;

export function resolveLayerIndex(model: tfl.LayersModel, ref: LayerRef, what: string): number {
  const layers = model.layers;
  if (typeof ref === 'number') {
    const i = ref < 0 ? layers.length + ref : ref;
    if (!Number.isInteger(ref) || i < 0 || i >= layers.length) {
      throw new GraftError('BAD_LAYER_REF', `${what}: layer index ${ref} is outside 0..${layers.length - 1} (${model.name} has ${layers.length} layers). Run \`graft inspect\` to list them.`);
    }
    return i;
  }
  const i = layers.findIndex((l) => l.name === ref);
  if (i < 0) {
    throw new GraftError('BAD_LAYER_REF', `${what}: no layer named ${JSON.stringify(ref)} in ${model.name}. Its layers are: ${layers.map((l) => l.name).join(', ')}.`);
  }
  return i;
}

/** Parses a CLI layer reference: digits (optionally negative) are an index, anything else a name. */
export function parseLayerRef(text: string): LayerRef {
  return /^-?\d+$/.test(text) ? Number(text) : text;
}
