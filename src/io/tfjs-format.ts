import * as path from 'node:path';
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';

/** The files of a TF.js layers model: model.json and one weights file. */
export interface TfjsModelFiles {
  'model.json': string;
  'weights.bin': Uint8Array;
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** Serialises a model to TF.js's layers format (what tf.loadLayersModel reads). */
export async function toTfjsFiles(model: tfl.LayersModel, generatedBy: string): Promise<TfjsModelFiles> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts?.weightSpecs || artifacts.weightData === undefined) throw new Error('TF.js returned no weights when saving');
  const parts = Array.isArray(artifacts.weightData) ? artifacts.weightData : [artifacts.weightData];
  const weights = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    weights.set(new Uint8Array(p), offset);
    offset += p.byteLength;
  }
  const json = {
    format: 'layers-model',
    generatedBy,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
  };
  return { 'model.json': JSON.stringify(json), 'weights.bin': weights };
}

interface ManifestGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

/**
 * Loads a TF.js layers model from `model.json` and the weight files it names. Weight paths must stay
 * inside the model's folder, and the bytes must match what the manifest declares.
 */
export async function loadTfjsModel(modelJsonPath: string): Promise<tfl.LayersModel> {
  const dir = path.dirname(path.resolve(modelJsonPath));
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(modelJsonPath, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new GraftError('MODEL_NOT_FOUND', `No model at ${modelJsonPath}. Pass a run directory, a TF.js model.json, or check the path.`);
    throw new GraftError('MODEL_CORRUPT', `${modelJsonPath} is not valid JSON (${err.message}). The file may be truncated; re-export or re-download it.`);
  }
  const json = parsed as { modelTopology?: unknown; weightsManifest?: unknown };
  if (typeof json !== 'object' || json === null || typeof json.modelTopology !== 'object' || json.modelTopology === null || !Array.isArray(json.weightsManifest)) {
    throw new GraftError('MODEL_CORRUPT', `${modelJsonPath} is not a TF.js layers model: it needs "modelTopology" (an object) and "weightsManifest" (a list). A graph model (from the TF.js converter's SavedModel path) cannot be trained.`);
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest as ManifestGroup[]) {
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new GraftError('MODEL_CORRUPT', `${modelJsonPath}: a weightsManifest entry lacks "paths" or "weights".`);
    }
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(await readWeightFile(dir, p, modelJsonPath));
  }
  const total = buffers.reduce((a, b) => a + b.byteLength, 0);
  const expected = specs.reduce((a, s) => a + (s.shape ?? []).reduce((x, y) => x * y, 1) * (DTYPE_BYTES[s.dtype] ?? NaN), 0);
  if (!specs.every((s) => s.dtype in DTYPE_BYTES && !s.quantization)) {
    throw new GraftError('MODEL_CORRUPT', `${modelJsonPath}: weights must be float32, int32 or bool and unquantized; found ${specs.map((s) => s.dtype).join(', ')}.`);
  }
  if (total !== expected) {
    throw new GraftError('MODEL_CORRUPT', `${modelJsonPath}: the manifest declares ${expected} bytes of weights but the weight files hold ${total}. A weight file is truncated or belongs to another model.`);
  }
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    weightData.set(b, offset);
    offset += b.byteLength;
  }
  try {
    return await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology as object, weightSpecs: specs, weightData: weightData.buffer }));
  } catch (e) {
    throw new GraftError('MODEL_CORRUPT', `${modelJsonPath}: TF.js could not build the model (${(e as Error).message}).`, { cause: e });
  }
}

async function readWeightFile(dir: string, relative: string, modelJsonPath: string): Promise<Uint8Array> {
  const resolved = path.resolve(dir, relative);
  if (typeof relative !== 'string' || path.isAbsolute(relative) || !resolved.startsWith(dir + path.sep)) {
    throw new GraftError('MODEL_CORRUPT', `${modelJsonPath}: weight path ${JSON.stringify(relative)} points outside the model's folder; refusing to read it. Weight files must sit beside model.json.`);
  }
  try {
    return new Uint8Array(await readFile(resolved));
  } catch (e) {
    throw new GraftError('MODEL_CORRUPT', `${modelJsonPath}: weight file ${relative} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Copy it beside model.json.`);
  }
}
