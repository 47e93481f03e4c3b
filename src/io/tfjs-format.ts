import * as path from 'node:path';
import { realpath, stat } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ReadRecorder } from './run-consistency.js';
import { GraftError, describeValue } from '../errors.js';
import { disposeModel, withVariableCleanup } from '../models/dispose.js';
import { parseJson } from './keras/archive.js';
import { assertFiniteWeights } from './weights-finite.js';
import { checkLoadedModel } from './loaded-model-check.js';
// Registers graft's own layer classes (OnnxBlock) before any model.json is read.
import '../models/onnx-block/layer.js';
import { READ_LIMITS, readRegularFile } from './regular-file.js';
import { checkLayerCount } from './layer-limit.js';
import type { TfjsModelFiles } from './tfjs-files.js';

// Pure halves live apart so the browser entry can use them without node:fs (re-exported for callers).
export { toTfjsFiles, type TfjsModelFiles } from './tfjs-files.js';
export { checkLoadedModel } from './loaded-model-check.js';

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
const MAX_WEIGHT_FILES = 10_000;

/** One weight as the manifest describes it, checked. */
interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
}

/**
 * Loads a TF.js layers model from `model.json` and the weight files it names. The manifest is
 * checked before any weight file is read: every path stays inside the model's folder (symlinks
 * resolved) and appears once, every weight has a name, a shape of whole numbers and a supported
 * dtype, and the files' sizes add up to what the manifest declares. A hostile model.json cannot
 * make graft read files elsewhere, or read one file a hundred thousand times.
 */
export async function loadTfjsModel(modelJsonPath: string, options: { onRead?: ReadRecorder } = {}): Promise<tfl.LayersModel> {
  const dir = path.dirname(path.resolve(modelJsonPath));
  let text: string;
  try {
    text = (await readRegularFile(modelJsonPath, { maxBytes: READ_LIMITS.json, expected: 'a TF.js model.json (or the run folder holding it)', code: 'MODEL_CORRUPT' })).toString('utf8');
  } catch (e) {
    if (e instanceof GraftError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new GraftError('MODEL_NOT_FOUND', `No model at ${modelJsonPath}. Pass a run directory, a TF.js model.json, or check the path.`);
    throw new GraftError('MODEL_CORRUPT', `${modelJsonPath} cannot be read (${err.code ?? err.message}). Check its permissions.`);
  }
  options.onRead?.(modelJsonPath, text);
  const json = parseJson(text, modelJsonPath) as { modelTopology?: unknown; weightsManifest?: unknown } | null;
  if (typeof json !== 'object' || json === null || typeof json.modelTopology !== 'object' || json.modelTopology === null || !Array.isArray(json.weightsManifest)) {
    throw new GraftError('MODEL_CORRUPT', `${modelJsonPath} is not a TF.js layers model: it needs "modelTopology" (an object) and "weightsManifest" (a list). A graph model (from the TF.js converter's SavedModel path) cannot be trained.`);
  }
  checkLayerCount(json.modelTopology, modelJsonPath);
  const specs: WeightSpec[] = [];
  const paths: unknown[] = [];
  for (const group of json.weightsManifest as unknown[]) {
    const g = group as { paths?: unknown; weights?: unknown } | null;
    if (typeof g !== 'object' || g === null || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      throw new GraftError('MODEL_CORRUPT', `${modelJsonPath}: a weightsManifest entry lacks "paths" or "weights" (received ${describeValue(g)}).`);
    }
    for (const w of g.weights as unknown[]) specs.push(checkSpec(w, modelJsonPath));
    paths.push(...(g.paths as unknown[]));
  }
  // The TF.js converter writes 4 MB shards: 10 000 of them would be 40 GB of weights.
  if (paths.length > MAX_WEIGHT_FILES) {
    throw new GraftError('MODEL_CORRUPT', `${modelJsonPath}: the manifest lists ${paths.length} weight files, more than the ${MAX_WEIGHT_FILES} graft reads. The manifest is damaged.`);
  }
  const realDir = await realpath(dir);
  const files: string[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    const resolved = await weightFilePath(dir, realDir, p, modelJsonPath);
    if (seen.has(resolved)) throw new GraftError('MODEL_CORRUPT', `${modelJsonPath}: weight file ${JSON.stringify(p)} is listed more than once; each weight file holds different weights. The manifest is damaged.`);
    seen.add(resolved);
    files.push(resolved);
  }
  const expected = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1) * DTYPE_BYTES[s.dtype]!, 0);
  const sizes = await Promise.all(files.map((f) => stat(f).then((st) => (st.isFile() ? st.size : NaN), () => NaN)));
  const unreadable = files.findIndex((_, i) => Number.isNaN(sizes[i]));
  if (unreadable >= 0) {
    throw new GraftError('MODEL_CORRUPT', `${modelJsonPath}: weight file ${path.relative(dir, files[unreadable]!)} is missing or not a file. Copy it beside model.json.`);
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total !== expected) {
    const need = expected > Number.MAX_SAFE_INTEGER ? 'more than 2^53' : String(expected);
    throw new GraftError('MODEL_CORRUPT', `${modelJsonPath}: the manifest declares ${need} bytes of weights but the weight files hold ${total}. A weight file is truncated or belongs to another model.`);
  }
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const f of files) {
    let b: Buffer;
    try {
      b = await readRegularFile(f, { maxBytes: READ_LIMITS.blob, expected: 'the weight file written with this model.json', code: 'MODEL_CORRUPT' });
    } catch (e) {
      if (e instanceof GraftError) throw e;
      throw new GraftError('MODEL_CORRUPT', `${modelJsonPath}: weight file ${path.relative(dir, f)} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Copy it beside model.json.`);
    }
    // The file changed since it was measured; refuse rather than read past the buffer.
    if (offset + b.byteLength > total) throw new GraftError('MODEL_CORRUPT', `${modelJsonPath}: weight file ${path.relative(dir, f)} grew while it was read. Load the model again.`);
    options.onRead?.(f, b);
    weightData.set(b, offset);
    offset += b.byteLength;
  }
  let model: tfl.LayersModel;
  try {
    // A build that fails half-way must not leave its variables alive (withVariableCleanup disposes them).
    model = await withVariableCleanup(() => tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology as object, weightSpecs: specs, weightData: weightData.buffer })));
  } catch (e) {
    throw new GraftError('MODEL_CORRUPT', `${modelJsonPath}: TF.js could not build the model (${(e as Error).message}).`, { cause: e });
  }
  try {
    checkLoadedModel(model, modelJsonPath);
    assertFiniteWeights(model, modelJsonPath);
  } catch (e) {
    disposeModel(model);
    throw e;
  }
  return model;
}

function checkSpec(w: unknown, modelJsonPath: string): WeightSpec {
  const s = w as Partial<Record<keyof WeightSpec | 'quantization', unknown>> | null;
  const bad = (problem: string): GraftError => new GraftError('MODEL_CORRUPT', `${modelJsonPath}: weight entry ${describeValue(s && typeof s === 'object' ? s.name : s)} ${problem}. The manifest is damaged, or it was written by a converter graft does not support.`);
  if (typeof s !== 'object' || s === null || typeof s.name !== 'string') throw bad('is not {"name", "shape", "dtype"}');
  if (!Array.isArray(s.shape) || !s.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) throw bad(`has shape ${describeValue(s.shape)}; a shape is a list of whole numbers ≥ 0`);
  if (typeof s.dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, s.dtype)) throw bad(`has dtype ${describeValue(s.dtype)}; graft reads float32, int32 and bool weights`);
  if (s.quantization !== undefined) throw bad('is quantized; graft reads unquantized weights only (convert the model without --quantize)');
  return { name: s.name, shape: s.shape as number[], dtype: s.dtype as WeightSpec['dtype'] };
}

/** A weight path resolved inside `dir` (whose real path is `realDir`), or a refusal: it must be relative and stay in the folder, also after symlinks. */
async function weightFilePath(dir: string, realDir: string, relative: unknown, modelJsonPath: string): Promise<string> {
  const outside = (): GraftError =>
    new GraftError('MODEL_CORRUPT', `${modelJsonPath}: weight path ${describeValue(relative)} points outside the model's folder; refusing to read it. Weight files must sit beside model.json.`);
  if (typeof relative !== 'string' || relative === '' || path.isAbsolute(relative) || relative.includes('\0')) throw outside();
  const resolved = path.resolve(dir, relative);
  if (!resolved.startsWith(dir + path.sep)) throw outside();
  // A symlink inside the folder may still point out of it. (A missing file is reported later, by size.)
  const realFile = await realpath(resolved).catch(() => undefined);
  if (realFile !== undefined && !realFile.startsWith(realDir + path.sep)) throw outside();
  return resolved;
}
