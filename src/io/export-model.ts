import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { exists } from './exists.js';
import { GRAFT_VERSION } from '../version.js';
import { writeDirAtomic, writeFileAtomic } from './atomic.js';
import { toKerasArchive } from './keras/export.js';
import { toTfjsFiles } from './tfjs-format.js';

/** Writes `model` to `to`: a Keras 3 archive when it ends in .keras, else a TF.js layers folder. */
export async function exportModel(model: tfl.LayersModel, to: string, options: { force?: boolean } = {}): Promise<'keras' | 'tfjs-layers'> {
  if (to.toLowerCase().endsWith('.keras')) {
    if (!options.force && (await exists(to))) throw new GraftError('OUTPUT_EXISTS', `${to} already exists. Pass --force to replace it, or choose another path.`);
    await writeFileAtomic(to, await toKerasArchive(model));
    return 'keras';
  }
  if (/\.(h5|hdf5|json)$/i.test(to)) {
    throw new GraftError('BAD_ARGUMENT', `Export to ${to}: graft writes Keras 3 .keras archives and TF.js layers folders. Use --to model.keras, or --to a folder name for TF.js.`);
  }
  await writeDirAtomic(to, { ...(await toTfjsFiles(model, `graft ${GRAFT_VERSION}`)) }, { force: options.force ?? false });
  return 'tfjs-layers';
}

