import type { OnnxModel } from '../../engine/onnx/model-proto.js';
import { GraftError, describeValue } from '../../errors.js';
import { READ_LIMITS } from '../read-limits.js';
import { asModelError } from './format-error.js';
import { checkGraph } from './graph-checks.js';
import { readModelProto } from './model-read.js';
import type { PendingTensor } from './tensor-read.js';

// The in-memory half of ONNX reading: no file system, so the browser entry uses it as it is.
// read.ts adds reading the file and its external data files.

/** A model read from its file, and the names of its model-local functions (no standard op). */
export interface OnnxFile {
  model: OnnxModel;
  functions: string[];
}

/** Fills the tensors stored outside the model's bytes; `file` names the model. */
export type ExternalDataLoader = (pending: readonly PendingTensor[], file: string) => Promise<void>;

/**
 * Decodes a ModelProto held in memory, lets `loadExternal` fill tensors stored in other files, and
 * checks that the graph is whole. Anything wrong is a GraftError that names `file`.
 */
export async function decodeOnnxWith(bytes: Uint8Array, file: string, loadExternal: ExternalDataLoader): Promise<OnnxFile> {
  // protobuf itself cannot encode a message over 2 GiB, so neither can an .onnx file be one.
  if (bytes.byteLength > READ_LIMITS.blob) {
    throw new GraftError('MODEL_CORRUPT', `${file} is ${bytes.byteLength} bytes, more than the ${READ_LIMITS.blob} bytes an ONNX model can be (protobuf's 2 GiB limit). Store its weights as external data and load it from a file.`);
  }
  let read;
  try {
    // A plain view, so no Buffer (readRegularFile's type) leaks into the model's arrays.
    read = readModelProto(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw asModelError(e, file);
  }
  await loadExternal(read.pending, file);
  checkGraph(read.model.graph, file);
  return { model: read.model, functions: read.functions };
}

/**
 * For bytes that stand alone (a dropped file in a page): tensors in external data files cannot be
 * reached, so such a model is refused with how to re-export it whole.
 */
export const refuseExternalData: ExternalDataLoader = (pending, file) => {
  if (pending.length === 0) return Promise.resolve();
  const first = pending[0]!;
  const locations = [...new Set(pending.map((p) => p.ref.location))];
  const named = first.tensor.name ? `tensor ${describeValue(first.tensor.name)}` : 'a Constant tensor';
  return Promise.reject(
    new GraftError(
      'BAD_ARGUMENT',
      `${file}: ${pending.length} tensor${pending.length === 1 ? '' : 's'} (${named} first) ${pending.length === 1 ? 'is' : 'are'} stored in external data (${locations.slice(0, 3).map((l) => describeValue(l)).join(', ')}${locations.length > 3 ? ', …' : ''}), which bytes alone cannot reach. ` +
        'Re-export the model with the weights inside the .onnx file (onnx.save_model(model, path, save_as_external_data=False), or torch.onnx.export(..., external_data=False); possible below 2 GiB), or load it from its folder with loadOnnxSource in Node.',
    ),
  );
};

/**
 * Whether bytes look like a ModelProto: it starts with ir_version (field 1, a small varint) followed
 * by another ModelProto field, as every exporter writes it. For telling .onnx files without the
 * extension from the other model formats; the reader itself decides validity.
 */
export function looksLikeOnnx(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x08 && head[1]! >= 1 && head[1]! <= 0x7f && [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42].includes(head[2]!);
}
