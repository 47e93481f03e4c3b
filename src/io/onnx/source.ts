import * as path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { readOnnxModel } from './read.js';
import { importOnnxSource, type OnnxSource, type OnnxSourceInfo, type OnnxSourceOptions } from './import-source.js';

// The file half of ONNX sources; the in-memory half (import-source.ts) has no node:fs, for the
// browser entry, and is re-exported here for callers.
export { importOnnxSource, type OnnxSource, type OnnxSourceInfo, type OnnxSourceOptions } from './import-source.js';

/**
 * An ONNX image model as a TF.js model graft can transfer from: read, made static for the image
 * size (constants folded, shapes known), cut at the reused features, split into its PyTorch blocks
 * (each an OnnxBlock layer, so freeze and unfreeze policies address them by name), behind the
 * declared preprocessing. NCHW models get transposes at the edges of each block (edges.ts), so
 * the rest of graft sees channels-last images and features as everywhere else.
 */
export async function loadOnnxSource(file: string, options: OnnxSourceOptions): Promise<OnnxSource> {
  const { model } = await readOnnxModel(file);
  const source = importOnnxSource(model, path.basename(file), options);
  IMPORTED.set(source.model, { file, info: source.info });
  return source;
}

/** Models loadOnnxSource made, with where and how: so a run from one records its source without being told. */
const IMPORTED = new WeakMap<tfl.LayersModel, { file: string; info: OnnxSourceInfo }>();

/** The file and import settings of a model loadOnnxSource made, if it is one. */
export function importedFrom(model: tfl.LayersModel): { file: string; info: OnnxSourceInfo } | undefined {
  return IMPORTED.get(model);
}

