import * as path from 'node:path';
import { GraftError } from '../../errors.js';
import { exists } from '../../io/exists.js';
import type { Experiment } from './schema.js';

/**
 * Refuses an experiment whose source model (`from:`) is not there, before anything runs, so that
 * `--check` does not call such a file valid. Kept out of validation, which reads only the file: the
 * model may legitimately appear later (a `graft seed` still to run).
 */
export async function assertSourcesExist(exp: Experiment, file: string): Promise<void> {
  if (!('from' in exp) || typeof exp.from !== 'string') return;
  if (await exists(exp.from)) return;
  const shown = path.relative(process.cwd(), exp.from) || '.';
  const seed = /(^|[\\/])runs[\\/]seed[\\/]model-a$/.test(exp.from) ? 'run `graft seed` first (it writes runs/seed/model-a), or ' : '';
  throw new GraftError(
    'MODEL_NOT_FOUND',
    `${file}: from: names ${shown}, and nothing is there (paths in the file are relative to its folder, ${path.dirname(path.resolve(file))}). Fix: ${seed}set from: to a graft run directory, a TF.js model.json or a Keras .h5/.keras file.`,
  );
}
