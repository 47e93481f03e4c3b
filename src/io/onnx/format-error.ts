import { GraftError } from '../../errors.js';
import { ProtoError } from '../../engine/onnx/proto-reader.js';

/**
 * Something wrong inside an ONNX file, found deep in the reader where the file's name is not
 * known; `asModelError` turns it (or a ProtoError) into the GraftError that names the file.
 */
export class OnnxFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxFormatError';
  }
}

/** The user-facing error for a damaged or unreadable ONNX file; anything else is rethrown as is. */
export function asModelError(e: unknown, file: string): unknown {
  if (e instanceof OnnxFormatError) return new GraftError('MODEL_CORRUPT', `${file}: ${e.message}. Re-export the model (torch.onnx.export, tf2onnx) or check that the file was copied whole.`);
  if (e instanceof ProtoError) return new GraftError('MODEL_CORRUPT', `${file} is not a valid ONNX model: its protobuf ${e.message}. Check that the file was copied whole and is an .onnx model.`);
  return e;
}
