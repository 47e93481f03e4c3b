import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError } from '../../errors.js';
import type { OnnxModel } from '../../engine/onnx/model-proto.js';
import { READ_LIMITS, readRegularFile } from '../regular-file.js';
import { loadExternalData } from './external-data.js';
import { asModelError } from './format-error.js';
import { checkGraph } from './graph-checks.js';
import { readModelProto } from './model-read.js';

/** A model read from its file, and the names of its model-local functions (no standard op). */
export interface OnnxFile {
  model: OnnxModel;
  functions: string[];
}

/**
 * Reads an .onnx file: the ModelProto, its external data files (from the model's own folder only),
 * and checks that the graph is whole (every value written once, every input provided, no cycle).
 * Anything wrong is a GraftError that names the file.
 */
export async function readOnnxModel(file: string): Promise<OnnxFile> {
  // protobuf itself cannot encode a message over 2 GiB, so neither can an .onnx file be one.
  const bytes = await readRegularFile(file, { maxBytes: READ_LIMITS.blob, expected: 'an ONNX model file (.onnx)', code: 'MODEL_CORRUPT' }).catch((e: unknown) => {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new GraftError('MODEL_NOT_FOUND', `No ONNX model at ${file}. Check the path; pass an .onnx file.`);
    if (typeof code === 'string' && !(e instanceof GraftError)) throw new GraftError('MODEL_CORRUPT', `${file} cannot be read (${code}). Check its permissions.`, { cause: e });
    throw e;
  });
  return decodeOnnxModel(bytes, file);
}

/** The same for bytes already in memory; `file` names them and locates external data. */
export async function decodeOnnxModel(bytes: Uint8Array, file: string): Promise<OnnxFile> {
  let read;
  try {
    // A plain view, so no Buffer (readRegularFile's type) leaks into the model's arrays.
    read = readModelProto(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw asModelError(e, file);
  }
  await loadExternalData(read.pending, file);
  checkGraph(read.model.graph, file);
  return { model: read.model, functions: read.functions };
}

/**
 * Whether bytes look like a ModelProto: it starts with ir_version (field 1, a small varint) followed
 * by another ModelProto field, as every exporter writes it. For telling .onnx files without the
 * extension from the other model formats; the reader itself decides validity.
 */
export function looksLikeOnnx(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x08 && head[1]! >= 1 && head[1]! <= 0x7f && [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42].includes(head[2]!);
}

/**
 * Whether `file` is to be read as ONNX: by its .onnx extension, or, for a regular file with no
 * extension graft knows, by its first bytes. Never opens a non-regular file (a FIFO would block).
 */
export async function isOnnxFile(file: string): Promise<boolean> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.onnx') return true;
  if (['.json', '.h5', '.hdf5', '.keras'].includes(ext)) return false;
  const st = await stat(file).catch(() => undefined);
  if (!st?.isFile()) return false;
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
  if (!handle) return false;
  try {
    const head = new Uint8Array(8);
    const { bytesRead } = await handle.read(head, 0, 8, 0);
    return looksLikeOnnx(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
