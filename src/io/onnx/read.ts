import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError } from '../../errors.js';
import { READ_LIMITS, readRegularFile } from '../regular-file.js';
import { decodeOnnxWith, looksLikeOnnx, type OnnxFile } from './decode.js';
import { loadExternalData } from './external-data.js';

// The in-memory half (decode.ts) has no node:fs, for the browser entry; re-exported for callers.
export { looksLikeOnnx, type OnnxFile } from './decode.js';

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
  return decodeOnnxWith(bytes, file, loadExternalData);
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
