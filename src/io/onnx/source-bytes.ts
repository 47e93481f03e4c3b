import { decodeOnnxWith, refuseExternalData } from './decode.js';
import { importOnnxSource, type OnnxSource, type OnnxSourceOptions } from './import-source.js';

/**
 * An ONNX image model from bytes in memory (a file dropped on a page) as a transfer source, as
 * loadOnnxSource makes one from a file; `name` names the bytes in messages and the model. A model
 * whose weights sit in external data files is refused (bytes alone cannot reach them), saying how
 * to re-export it whole.
 */
export async function loadOnnxSourceFromBytes(bytes: Uint8Array, name: string, options: OnnxSourceOptions): Promise<OnnxSource> {
  const { model } = await decodeOnnxWith(bytes, name, refuseExternalData);
  return importOnnxSource(model, name, options);
}
