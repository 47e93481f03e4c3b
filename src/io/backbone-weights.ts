import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { disposeModel } from '../models/dispose.js';
import { ZOO_HOSTS, type ZooEntry } from '../models/zoo.js';
import { fsyncDir, leftoversOf, removeStale, tempSibling } from './atomic.js';
import { downloadFile } from './download.js';
import { loadKerasWeights } from './keras/load.js';
import { loadModel } from './run-dir.js';
import { copyWeightsByName } from './copy-weights.js';
import { isFile } from './exists.js';
import type { Environment } from './environment.js';

/** graft's weight cache: $XDG_CACHE_HOME/graft/weights, else ~/.cache/graft/weights. */
export function weightsCacheDir(env: Environment = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || homedir(), '.cache');
  return path.join(base, 'graft', 'weights');
}

export interface ZooFetchOptions {
  /** Default: weightsCacheDir(). */
  cacheDir?: string;
  /** Also look in Keras's own cache (~/.keras/models), where a Keras user already has the file. Default true. */
  kerasCache?: boolean;
  /** Allow downloading. Default true. */
  download?: boolean;
  /** Base URL of a mirror holding the same files (e.g. inside a firewall); env GRAFT_WEIGHTS_MIRROR. */
  mirror?: string;
  onProgress?: (received: number, total: number | undefined) => void;
  env?: Environment;
}

async function md5Of(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The local path of a zoo file: graft's cache, then Keras's cache, then a download (hash-checked
 * where Keras publishes a hash). Without network or file, the error names the URL and where to put it.
 */
export async function fetchZooWeights(entry: ZooEntry, options: ZooFetchOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const cacheDir = options.cacheDir ?? weightsCacheDir(env);
  const cached = path.join(cacheDir, entry.file);
  if (await isFile(cached)) return cached;
  if (options.kerasCache !== false) {
    const keras = path.join(env.KERAS_HOME || path.join(env.HOME || homedir(), '.keras'), 'models', entry.file);
    if (await isFile(keras)) return keras;
  }
  const byHand = `Download ${entry.url} (${entry.megabytes} MB) by hand and pass it with --weights FILE, or put it at ${cached}; or use --weights none to start from random weights.`;
  if (options.download === false) throw new GraftError('WEIGHTS_NOT_FOUND', `ImageNet weights ${entry.file} are not in ${cacheDir} and downloading is off. ${byHand}`);
  const mirror = options.mirror ?? env.GRAFT_WEIGHTS_MIRROR;
  const url = mirror ? `${mirror.replace(/\/+$/, '')}/${entry.file}` : entry.url;
  await mkdir(cacheDir, { recursive: true });
  // A download killed between finishing and renaming leaves a temp sibling: clear it.
  await removeStale(await leftoversOf(cached));
  const partial = tempSibling(cached, 'download');
  try {
    await downloadFile(url, partial, {
      ...(mirror ? {} : { allowedHosts: ZOO_HOSTS }),
      maxBytes: Math.ceil(entry.megabytes * 1.5 * 2 ** 20),
      ...(options.onProgress && { onProgress: options.onProgress }),
    });
  } catch (e) {
    await rm(partial, { force: true });
    const reason = e instanceof Error ? e.message : String(e);
    throw new GraftError('WEIGHTS_NOT_FOUND', `Could not fetch ImageNet weights ${entry.file}: ${reason} ${byHand}`, { cause: e });
  }
  if (entry.md5) {
    const got = await md5Of(partial);
    if (got !== entry.md5) {
      await rm(partial, { force: true });
      throw new GraftError('CHECKSUM_MISMATCH', `Downloaded ${url}, but its MD5 is ${got}, not ${entry.md5} as Keras publishes; the file was deleted. Try again, or ${byHand}`);
    }
  }
  await rename(partial, cached);
  await fsyncDir(cacheDir);
  return cached;
}

/**
 * Loads weights into a backbone built with Keras's layer names: from a Keras weights file (.h5,
 * .weights.h5, either layout), or by layer name from any model graft reads (Keras .h5/.keras full
 * model, TF.js model.json — e.g. a Teachable Machine export — or a graft run directory).
 */
export async function loadBackboneWeights(backbone: tfl.LayersModel, file: string): Promise<void> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.h5' || ext === '.hdf5') {
    await loadKerasWeights(backbone, file);
    return;
  }
  const source = await loadModel(file);
  try {
    copyWeightsByName(source.model, backbone, file);
  } finally {
    disposeModel(source.model);
  }
}

// Browser-safe (no file system): lives in copy-weights.ts so the browser entry can use it.
export { copyWeightsByName } from './copy-weights.js';
