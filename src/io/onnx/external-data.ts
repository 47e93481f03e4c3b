import { realpath } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError, describeValue } from '../../errors.js';
import { DATA_TYPE_NAMES, tensorDataType } from '../../engine/onnx/model-proto.js';
import { READ_LIMITS, readRegularFile } from '../regular-file.js';
import { fromLittleEndian, type PendingTensor } from './tensor-read.js';

/** More external files than this is a damaged model (exporters write one, or one per tensor). */
export const MAX_EXTERNAL_FILES = 10_000;

/**
 * Fills tensors stored outside the .onnx file (data_location = EXTERNAL). Each location must be a
 * relative path that stays inside the model's folder, also once symlinks are followed, and be a
 * regular file (readRegularFile) holding at least offset + length bytes; length must be the
 * tensor's size. Each file is read once however many tensors it holds.
 */
export async function loadExternalData(pending: readonly PendingTensor[], modelFile: string): Promise<void> {
  if (pending.length === 0) return;
  const dir = path.dirname(path.resolve(modelFile));
  const realDir = await realpath(dir);
  const files = new Map<string, Buffer>();
  for (const p of pending) {
    const label = p.tensor.name ? `tensor ${describeValue(p.tensor.name)}` : 'a Constant tensor';
    const file = await confine(dir, realDir, p.ref.location, modelFile, label);
    let bytes = files.get(file);
    if (!bytes) {
      if (files.size >= MAX_EXTERNAL_FILES) throw new GraftError('MODEL_CORRUPT', `${modelFile}: its tensors name more than ${MAX_EXTERNAL_FILES} external data files. The model is damaged.`);
      bytes = await readRegularFile(file, {
        maxBytes: READ_LIMITS.blob,
        expected: 'the external data file the model names',
        code: 'MODEL_CORRUPT',
        fix: `Put the model's data file ${describeValue(p.ref.location)} beside ${path.basename(modelFile)}, as the exporter wrote it.`,
      }).catch((e: unknown) => {
        const where = `${modelFile}: ${label} is stored in ${describeValue(p.ref.location)}`;
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') {
          throw new GraftError('MODEL_NOT_FOUND', `${where}, which is not in ${dir}. Copy the data file the exporter wrote beside the .onnx file.`);
        }
        // readRegularFile's refusals name the data file; the model's name goes in front.
        if (e instanceof GraftError) throw new GraftError(e.code, `${where}: ${e.message}`);
        if (typeof code === 'string') throw new GraftError('MODEL_CORRUPT', `${where}, which graft cannot read (${code}). Check the data file's name and permissions.`, { cause: e });
        throw e;
      });
      files.set(file, bytes);
    }
    const length = p.ref.length ?? Math.max(0, bytes.length - p.ref.offset);
    const type = DATA_TYPE_NAMES[tensorDataType(p.tensor)];
    if (length !== p.bytes) {
      throw new GraftError('MODEL_CORRUPT', `${modelFile}: ${label} has dims [${p.tensor.dims.join(', ')}] (${p.bytes} bytes of ${type}) but its external data is ${length} bytes long. The model is damaged.`);
    }
    if (p.ref.offset + length > bytes.length) {
      throw new GraftError('MODEL_CORRUPT', `${modelFile}: ${label} needs bytes ${p.ref.offset} to ${p.ref.offset + length} of ${describeValue(p.ref.location)}, which is only ${bytes.length} bytes long. The data file is truncated or belongs to another model.`);
    }
    p.tensor.data = fromLittleEndian(tensorDataType(p.tensor), bytes.subarray(p.ref.offset, p.ref.offset + length));
  }
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
