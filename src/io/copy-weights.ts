import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { flatLayers } from '../train/forward.js';
import { isPreprocessLayer } from '../models/preprocess.js';

/** Copies every weight of `to`'s layers from the layer of the same name in `from` (nested models searched). */
export function copyWeightsByName(from: tfl.LayersModel, to: tfl.LayersModel, what: string): void {
  const available = new Map(flatLayers(from).map((l) => [l.name, l]));
  const targets = flatLayers(to).filter((l) => l.weights.length > 0 && !isPreprocessLayer(l));
  const missing = targets.filter((l) => !available.has(l.name));
  if (missing.length > 0) {
    const sample = [...available.keys()].slice(0, 8).join(', ');
    throw new GraftError(
      'MODEL_CORRUPT',
      `${what} has no layer named ${missing.slice(0, 5).map((l) => JSON.stringify(l.name)).join(', ')}${missing.length > 5 ? ` (and ${missing.length - 5} more)` : ''} needed by ${to.name}; its layers are ${sample}${available.size > 8 ? ', …' : ''}. Pass a file holding this backbone (same architecture and width).`,
    );
  }
  const writes: Array<[tfl.LayerVariable, tf.Tensor]> = [];
  for (const layer of targets) {
    const src = available.get(layer.name)!;
    // Match by weight name within the layer: TF.js exports may order BatchNorm's statistics differently.
    const byName = new Map(src.weights.map((w) => [w.originalName.split('/').pop()!, w]));
    for (const w of layer.weights) {
      const key = w.originalName.split('/').pop()!;
      const s = byName.get(key);
      if (!s) throw new GraftError('MODEL_CORRUPT', `${what}: layer ${layer.name} has no weight ${key} (it has ${[...byName.keys()].join(', ')}).`);
      if (s.shape.join(',') !== w.shape.join(',')) {
        throw new GraftError('MODEL_CORRUPT', `${what}: weight ${layer.name}/${key} has shape [${s.shape.join(', ')}] but ${to.name} needs [${w.shape.join(', ')}]. The file holds another width (alpha) or architecture.`);
      }
      writes.push([w, s.read()]);
    }
  }
  for (const [w, value] of writes) {
    // write() assigns (the variable takes its own reference to the data): the clone itself must go, or each weight leaks a tensor.
    const copy = value.clone();
    w.write(copy);
    copy.dispose();
  }
}
