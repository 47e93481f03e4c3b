import { GraftError } from '../errors.js';

/**
 * The most layers graft builds from one model file, nested models' layers included. The largest
 * Keras application (ConvNeXtXLarge, NASNetLarge) has ~1 000; TF.js builds layers recursively, so
 * a file listing 10^6 of them overflowed the stack (exit 1) instead of being refused.
 */
export const MAX_LAYERS = 10_000;

type Json = unknown;

/** The layer list of a Keras/TF.js model node ({class_name, config}), or undefined for a plain layer. */
function layersOf(node: Json): Json[] | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  const o = node as Record<string, unknown>;
  const config = o.model_config !== undefined ? o.model_config : o.config;
  if (Array.isArray(config)) return config; // Keras 2.0–2.2 Sequential: a bare list of layers
  if (o.model_config !== undefined) return layersOf(config);
  if (typeof config === 'object' && config !== null && Array.isArray((config as Record<string, unknown>).layers)) {
    return (config as Record<string, unknown>).layers as Json[];
  }
  return undefined;
}

/**
 * Refuses a topology (TF.js modelTopology or Keras config.json) with more than MAX_LAYERS layers,
 * counting nested models' layers, before anything is built. Counting stops at the limit, so a
 * hostile list costs no more than MAX_LAYERS steps.
 */
export function checkLayerCount(topology: Json, what: string): void {
  let count = 0;
  const stack: Json[][] = [];
  const top = layersOf(topology);
  if (top) stack.push(top);
  while (stack.length > 0) {
    const list = stack.pop()!;
    count += list.length;
    if (count > MAX_LAYERS) {
      throw new GraftError('MODEL_CORRUPT', `${what} lists more than ${MAX_LAYERS} layers (at least ${count}); graft builds at most ${MAX_LAYERS} from one file. The file is damaged or crafted; no model graft can train has that many.`);
    }
    for (const layer of list) {
      const inner = layersOf(layer);
      if (inner) stack.push(inner);
    }
  }
}
