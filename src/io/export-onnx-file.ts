import type * as tfl from '@tensorflow/tfjs-layers';
import { writeFileAtomic } from './atomic.js';
import { claimOutputFile } from './output-claim.js';
import { toOnnxBytes, type OnnxExportOptions } from './export-onnx.js';

// Node-only: kept apart from export-onnx.ts so the browser entry gets toOnnxBytes without node:fs.

/** Writes `model` to the .onnx file `to`: refused if it exists (unless --force and graft wrote it), written atomically. */
export async function exportOnnx(model: tfl.LayersModel, to: string, options: OnnxExportOptions = {}): Promise<void> {
  await claimOutputFile(to, 'onnx', { force: options.force ?? false, flag: '--to' });
  await writeFileAtomic(to, toOnnxBytes(model, options));
}
