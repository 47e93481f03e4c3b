import * as path from 'node:path';
import { GraftError, describeValue } from '../errors.js';
import { type Dataset, take } from '../data/dataset.js';
import { parseCifar10Batches } from '../data/cifar-binary.js';
import { CIFAR10_CLASSES } from '../data/task.js';
import { type ImageFolderOptions, loadImageFolder } from './image-folder.js';
import { isDir } from './exists.js';
import { READ_LIMITS, isPresent, readRegularFile } from './regular-file.js';
import type { Environment } from './environment.js';

/**
 * Finds and loads CIFAR-10 from a local folder; graft never downloads it. Two layouts are accepted:
 * the official binary batches (in the folder or its `cifar-10-batches-bin/`), or a JPEG/PNG tree
 * `cifar10/{train,test}/<class>/*` (also the tree's own folder, `{train,test}/<class>/*`). The
 * binary batches win when both are present.
 */

export type Cifar10Split = 'train' | 'test';

export interface Cifar10Options extends Pick<ImageFolderOptions, 'onProgress' | 'cache' | 'cacheDir'> {
  /** Folder holding either layout. Default $GRAFT_DATA_DIR. */
  dataDir?: string;
  /** Environment for GRAFT_DATA_DIR and the cache folder. Default process.env. */
  env?: Environment;
  /**
   * Load only these classes (slugs, e.g. ['cat', 'dog']); an image tree then needs only their
   * folders. Labels and class names stay those of all ten classes, so task specs still apply.
   * Default: all ten.
   */
  classes?: readonly string[];
}

export const CIFAR10_BATCH_FILES: Readonly<Record<Cifar10Split, readonly string[]>> = {
  train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  test: ['test_batch.bin'],
};

const LAYOUTS =
  'graft reads CIFAR-10 in either layout: (1) the official binary batches data_batch_1.bin … data_batch_5.bin and test_batch.bin ' +
  '(from cifar-10-binary.tar.gz at https://www.cs.toronto.edu/~kriz/cifar.html; the folder itself or its cifar-10-batches-bin/ subfolder), or ' +
  '(2) an image tree cifar10/{train,test}/<class>/*.jpg with class folders airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck ' +
  '(e.g. extract the cifar10-jpeg.tar archive into the folder). graft does not download CIFAR-10.';

async function binaryFiles(dir: string, split: Cifar10Split): Promise<{ found?: string[]; partial?: { dir: string; missing: string[] } }> {
  let partial: { dir: string; missing: string[] } | undefined;
  for (const d of [dir, path.join(dir, 'cifar-10-batches-bin')]) {
    const names = CIFAR10_BATCH_FILES[split];
    const present = await Promise.all(names.map((n) => isPresent(path.join(d, n))));
    if (present.every(Boolean)) return { found: names.map((n) => path.join(d, n)) };
    if (present.some(Boolean)) partial ??= { dir: d, missing: names.filter((_, i) => !present[i]) };
  }
  return partial ? { partial } : {};
}

/** Loads the train (50 000) or test (10 000) split as a raw [32, 32, 3] Dataset named "cifar10/<split>". */
export async function loadCifar10(split: Cifar10Split, opts: Cifar10Options = {}): Promise<Dataset> {
  if (split !== 'train' && split !== 'test') {
    throw new GraftError('BAD_ARGUMENT', `loadCifar10: split must be "train" or "test", received ${JSON.stringify(split)}.`);
  }
  const env = opts.env ?? process.env;
  const given = opts.dataDir ?? (env.GRAFT_DATA_DIR || undefined);
  if (given === undefined) throw new GraftError('DATA_NOT_FOUND', `No CIFAR-10 folder was given. Pass --data-dir (or dataDir, or set GRAFT_DATA_DIR). ${LAYOUTS}`);
  const dir = path.resolve(given);
  const source = `cifar10/${split}`;
  const slugs = CIFAR10_CLASSES.map((c) => c.slug);
  const wanted = opts.classes ?? slugs;
  const unknown = wanted.filter((c) => !slugs.includes(c));
  if (unknown.length > 0 || wanted.length === 0) {
    throw new GraftError('BAD_ARGUMENT', `loadCifar10: classes ${describeValue(wanted)} must be a non-empty list of CIFAR-10 class slugs (${slugs.join(', ')}); ${unknown.length > 0 ? `unknown: ${unknown.join(', ')}` : 'received none'}.`);
  }
  const keep = new Set(wanted.map((c) => slugs.indexOf(c)));

  const binary = await binaryFiles(dir, split);
  if (binary.found) {
    const batches = await Promise.all(
      binary.found.map(async (file) => {
        try {
          return { file, bytes: new Uint8Array(await readRegularFile(file, { maxBytes: READ_LIMITS.dataset, expected: 'a CIFAR-10 binary batch file (data_batch_1.bin)', code: 'DATA_NOT_FOUND' })) };
        } catch (e) {
          if (e instanceof GraftError) throw e;
          throw new GraftError('DATA_NOT_FOUND', `Cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Check its permissions.`);
        }
      }),
    );
    const all = parseCifar10Batches(batches, source);
    if (keep.size === slugs.length) return all;
    const indices: number[] = [];
    all.y.forEach((label, i) => {
      if (keep.has(label)) indices.push(i);
    });
    return take(all, indices);
  }

  for (const tree of [path.join(dir, 'cifar10', split), path.join(dir, split)]) {
    if (!(await isDir(tree))) continue;
    const ds = await loadImageFolder(tree, {
      classes: slugs.filter((_, i) => keep.has(i)), // CIFAR-10 label order
      size: [32, 32],
      channels: 3,
      source,
      env,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.cache !== undefined ? { cache: opts.cache } : {}),
      ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
    });
    const original = slugs.map((_, i) => i).filter((i) => keep.has(i));
    const y = ds.y.map((label) => original[label]!);
    return { ...ds, y, classNames: CIFAR10_CLASSES.map((c) => c.name) };
  }

  const partial = binary.partial ? ` ${binary.partial.dir} holds some batches but lacks ${binary.partial.missing.join(', ')}.` : '';
  throw new GraftError('DATA_NOT_FOUND', `CIFAR-10 ${split} data was not found in ${dir}.${partial} ${LAYOUTS}`);
}
