// The page's source chooser: the chosen files → the bytes and kind the worker builds a model from.
// Judged by content where the format has a signature (HDF5, zip), else by extension.
import type { OnnxPreprocessing, SourceFiles } from './protocol.js';

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const ZIP_SIGNATURE = [0x50, 0x4b, 0x03, 0x04];
const startsWith = (b: Uint8Array, sig: number[]): boolean => sig.every((v, i) => b[i] === v);

export const SOURCE_KINDS_TEXT = 'a Keras model (.keras, or a full-model .h5), an ONNX model (.onnx), or a TF.js model (model.json with its weights.bin)';

export interface OnnxChoice {
  preprocess: OnnxPreprocessing;
  /** Unset: read from the model's input shape. */
  layout?: 'nchw' | 'nhwc';
}

export async function readSourceFiles(chosen: File[], onnx: OnnxChoice): Promise<SourceFiles> {
  // Teachable Machine's metadata.json travels with its model; it holds no weights.
  const files = chosen.filter((f) => f.name !== 'metadata.json');
  const received = chosen.length ? chosen.map((f) => f.name).join(', ') : 'no files';
  const json = files.find((f) => /\.json$/i.test(f.name));
  if (json) return tfjsFiles(json, files);
  const models = files.filter((f) => !/\.bin$/i.test(f.name));
  if (models.length === 0) {
    throw new Error(`Choose a source model: ${SOURCE_KINDS_TEXT}; received ${received}.${files.length ? ' TF.js weight files need their model.json too.' : ''}`);
  }
  if (models.length > 1) throw new Error(`Choose one source model; received ${received}. (Only a TF.js model comes as several files: model.json and its weights.)`);
  const file = models[0]!;
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (startsWith(bytes, HDF5_SIGNATURE)) return { kind: 'keras', name: file.name, bytes };
  if (startsWith(bytes, ZIP_SIGNATURE)) {
    if (/\.zip$/i.test(file.name)) throw new Error(`${file.name} is a zip, not a model: a zip of images goes to a class (step 2). As the source, choose ${SOURCE_KINDS_TEXT}.`);
    return { kind: 'keras', name: file.name, bytes };
  }
  if (/\.onnx$/i.test(file.name)) return { kind: 'onnx', name: file.name, bytes, preprocess: onnx.preprocess, ...(onnx.layout && { layout: onnx.layout }) };
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new Error(`${file.name} is not a model graft reads (${bytes.length} bytes, starting ${head || 'with nothing'}). Choose ${SOURCE_KINDS_TEXT}.`);
}

/** model.json + its weight files (in the manifest's order, one buffer). */
async function tfjsFiles(json: File, files: File[]): Promise<SourceFiles> {
  const text = await json.text();
  let manifest: Array<{ paths?: string[] }>;
  try {
    manifest = (JSON.parse(text) as { weightsManifest?: Array<{ paths?: string[] }> }).weightsManifest ?? [];
  } catch (e) {
    throw new Error(`${json.name} is not JSON (${e instanceof Error ? e.message : String(e)}). Choose a TF.js model.json, or ${SOURCE_KINDS_TEXT}.`);
  }
  const parts: Uint8Array[] = [];
  for (const p of manifest.flatMap((g) => g.paths ?? [])) {
    const name = p.split('/').pop();
    const f = files.find((g) => g.name === name);
    if (!f) throw new Error(`${json.name} needs ${p}, which was not chosen. Choose it with model.json.`);
    parts.push(new Uint8Array(await f.arrayBuffer()));
  }
  const weights = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (weights.set(p, at), at + p.length), 0);
  return { kind: 'tfjs', modelJson: text, weights, name: json.name };
}
