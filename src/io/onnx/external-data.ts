import { constants, type Stats } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError, describeValue } from '../../errors.js';
import { DATA_TYPE_NAMES, tensorDataType } from '../../engine/onnx/model-proto.js';
import { statRegularFile } from '../regular-file.js';
import { ELEMENT_BYTES, allocate, type PendingTensor, type TypedData } from './tensor-read.js';

/** More external files than this is a damaged model (exporters write one, or one per tensor). */
export const MAX_EXTERNAL_FILES = 10_000;

/**
 * Fills tensors stored outside the .onnx file (data_location = EXTERNAL). Each location must be a
 * relative path that stays inside the model's folder, also once symlinks are followed, and be a
 * regular file (statRegularFile) holding at least offset + length bytes; length must be the
 * tensor's size. Only the tensors' own ranges are read, so memory is what the tensors take (not
 * the data file's size), and the ranges read from one file may not add up to more than the file:
 * a file cannot make graft allocate more than it holds by naming one range many times.
 */
export async function loadExternalData(pending: readonly PendingTensor[], modelFile: string): Promise<void> {
  if (pending.length === 0) return;
  const dir = path.dirname(path.resolve(modelFile));
  const realDir = await realpath(dir);
  const byFile = new Map<string, Array<{ p: PendingTensor; label: string }>>();
  for (const p of pending) {
    const label = p.tensor.name ? `tensor ${describeValue(p.tensor.name)}` : 'a Constant tensor';
    const file = await confine(dir, realDir, p.ref.location, modelFile, label);
    if (!byFile.has(file)) {
      if (byFile.size >= MAX_EXTERNAL_FILES) throw new GraftError('MODEL_CORRUPT', `${modelFile}: its tensors name more than ${MAX_EXTERNAL_FILES} external data files. The model is damaged.`);
      byFile.set(file, []);
    }
    byFile.get(file)!.push({ p, label });
  }
  for (const [file, tensors] of byFile) {
    const { p: first, label: firstLabel } = tensors[0]!;
    const where = `${modelFile}: ${firstLabel} is stored in ${describeValue(first.ref.location)}`;
    const { handle, size } = await openDataFile(file, where, dir);
    try {
      let claimed = 0;
      for (const { p, label } of tensors) {
        const length = p.ref.length ?? Math.max(0, size - p.ref.offset);
        const type = DATA_TYPE_NAMES[tensorDataType(p.tensor)];
        if (length !== p.bytes) {
          throw new GraftError('MODEL_CORRUPT', `${modelFile}: ${label} has dims [${p.tensor.dims.join(', ')}] (${p.bytes} bytes of ${type}) but its external data is ${length} bytes long. The model is damaged.`);
        }
        if (p.ref.offset + length > size) {
          throw new GraftError('MODEL_CORRUPT', `${modelFile}: ${label} needs bytes ${p.ref.offset} to ${p.ref.offset + length} of ${describeValue(p.ref.location)}, which is only ${size} bytes long. The data file is truncated or belongs to another model.`);
        }
        claimed += length;
        if (claimed > size) {
          throw new GraftError('MODEL_CORRUPT', `${modelFile}: its tensors claim ${claimed} bytes from ${describeValue(p.ref.location)}, which holds ${size}: their ranges overlap. The model is damaged.`);
        }
        p.tensor.data = await readRange(handle, tensorDataType(p.tensor), p.ref.offset, length, () => `${modelFile}: ${label}: ${describeValue(p.ref.location)} became shorter while graft read it. Try again once nothing else is writing it.`);
      }
    } finally {
      await handle.close();
    }
  }
}

/**
 * Opens a data file after statRegularFile's checks (no FIFO, device or folder), non-blocking, and
 * checks that the file opened is the one stat'd. `where` starts every refusal.
 */
async function openDataFile(file: string, where: string, dir: string): Promise<{ handle: FileHandle; size: number }> {
  let st: Stats;
  try {
    // No size limit on the file: what graft allocates is each tensor's range, checked on its own.
    st = await statRegularFile(file, { maxBytes: Number.MAX_SAFE_INTEGER, expected: 'the external data file the model names', code: 'MODEL_CORRUPT', fix: 'Put the data file the exporter wrote beside the .onnx file.' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new GraftError('MODEL_NOT_FOUND', `${where}, which is not in ${dir}. Copy the data file the exporter wrote beside the .onnx file.`);
    }
    // statRegularFile's refusals name the data file; the model's name goes in front.
    if (e instanceof GraftError) throw new GraftError(e.code, `${where}: ${e.message}`);
    if (typeof code === 'string') throw new GraftError('MODEL_CORRUPT', `${where}, which graft cannot read (${code}). Check the data file's name and permissions.`, { cause: e });
    throw e;
  }
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  const now = await handle.stat();
  if (!now.isFile() || now.ino !== st.ino || now.dev !== st.dev) {
    await handle.close();
    throw new GraftError('MODEL_CORRUPT', `${where}, which was replaced while graft opened it. Try again once nothing else is writing it.`);
  }
  return { handle, size: Math.min(st.size, now.size) };
}

/** Reads `length` bytes at `offset` straight into an array of the tensor's type. */
async function readRange(handle: FileHandle, dataType: number, offset: number, length: number, shrunk: () => string): Promise<TypedData> {
  const out = allocate(dataType, length / ELEMENT_BYTES[dataType]!);
  // Typed arrays are little-endian on every platform Node runs on: the file's bytes are the values.
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(bytes, done, length - done, offset + done);
    if (bytesRead === 0) throw new GraftError('MODEL_CORRUPT', shrunk());
    done += bytesRead;
  }
  return out;
}

/** The file `location` names inside `dir`, or a refusal if it is absolute or leads out of the folder. */
async function confine(dir: string, realDir: string, location: string, modelFile: string, label: string): Promise<string> {
  const outside = (why: string): GraftError =>
    new GraftError('MODEL_CORRUPT', `${modelFile}: ${label} is stored in ${describeValue(location)}, ${why}; graft reads external data only from the model's own folder. Keep the data files beside the .onnx file and re-export with relative locations.`);
  // Windows drive and UNC forms are absolute to the exporter that wrote them, whatever this OS says.
  if (path.isAbsolute(location) || /^[a-zA-Z]:|^[\\/]/.test(location)) throw outside('an absolute path');
  if (location.includes('\0')) throw outside('a path with a NUL byte');
  const resolved = path.resolve(dir, location);
  if (!resolved.startsWith(dir + path.sep)) throw outside('outside the model\'s folder');
  const real = await realpath(resolved).catch(() => undefined);
  // A missing file is reported when it is read; a symlink leading out is refused here.
  if (real !== undefined && !real.startsWith(realDir + path.sep)) throw outside(`a link to ${real}, outside the model's folder`);
  return resolved;
}
