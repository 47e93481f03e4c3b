import { readModelProto } from '../onnx/model-read.js';
import { READ_LIMITS, readRegularFile } from '../regular-file.js';
import { unsafeRepoPath } from './spec.js';

/**
 * The external data files the .onnx at `file` names (data_location = EXTERNAL), as paths relative
 * to its folder. A file graft cannot parse names none here: readOnnxModel reports it properly.
 * Locations that would leave the folder are skipped, as external-data.ts refuses them anyway.
 */
export async function externalDataFiles(file: string): Promise<string[]> {
  let pending;
  try {
    const bytes = await readRegularFile(file, { maxBytes: READ_LIMITS.blob, expected: 'an ONNX model file (.onnx)', code: 'MODEL_CORRUPT' });
    pending = readModelProto(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).pending;
  } catch {
    return [];
  }
  const locations = new Set<string>();
  for (const p of pending) {
    const location = p.ref.location.replace(/^\.\//, '');
    if (unsafeRepoPath(location) === undefined) locations.add(location);
  }
  return [...locations].sort();
}
