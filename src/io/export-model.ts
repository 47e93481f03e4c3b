import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { GRAFT_VERSION } from '../version.js';
import { writeFileAtomic } from './atomic.js';
import { claimOutputFile, claimOutputFolder, writeOutputDir } from './output-claim.js';
import { toKerasArchive } from './keras/export.js';
import { toTfjsFiles } from './tfjs-format.js';
import type { OnnxExportOptions } from './export-onnx.js';
import { exportOnnx } from './export-onnx-file.js';

/**
 * Writes `model` to `to`: a Keras 3 archive when it ends in .keras, an ONNX inference model when it
 * ends in .onnx (export-onnx.ts; `run` and `input` go into its metadata), else a TF.js layers folder.
 */
export async function exportModel(model: tfl.LayersModel, to: string, options: OnnxExportOptions = {}): Promise<'keras' | 'onnx' | 'tfjs-layers'> {
  if (to.toLowerCase().endsWith('.onnx')) {
    await exportOnnx(model, to, options);
    return 'onnx';
  }
  if (to.toLowerCase().endsWith('.keras')) {
    await claimOutputFile(to, 'keras', { force: options.force ?? false, flag: '--to' });
    await writeFileAtomic(to, await toKerasArchive(model));
    return 'keras';
  }
  if (/\.(h5|hdf5|json)$/i.test(to)) {
    throw new GraftError('BAD_ARGUMENT', `Export to ${to}: graft writes Keras 3 .keras archives, ONNX .onnx models and TF.js layers folders. Use --to model.keras, --to model.onnx, or --to a folder name for TF.js.`);
  }
  const claim = { force: options.force ?? false, flag: '--to' };
  await claimOutputFolder(to, claim);
  await writeOutputDir(to, 'model', { ...(await toTfjsFiles(model, `graft ${GRAFT_VERSION}`)) }, claim);
  return 'tfjs-layers';
}

