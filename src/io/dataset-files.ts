import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { GraftError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { FASHION_MNIST_FILES, FASHION_MNIST_MIRROR, type FashionMnistFileKey, fashionMnistFromIdx } from '../data/fashion-mnist.js';
import { maybeGunzip, parseIdx } from '../data/idx.js';
import { downloadFile } from './download.js';
import { READ_LIMITS, isPresent, readRegularFile } from './regular-file.js';
import type { Environment } from './environment.js';

/**
 * Finds the Fashion-MNIST files. Search order: an explicit folder (`dataDir` or GRAFT_DATA_DIR;
 * when given, nothing else is tried), graft's cache, Debian's dataset-fashion-mnist package, and
 * finally a download from the canonical mirror into the cache. Folders may hold raw or .gz files.
 */

export interface LocateOptions {
  /** Folder holding the four files (raw or .gz). Default: $GRAFT_DATA_DIR. When set, it is the only place searched. */
  dataDir?: string;
  /** Environment for GRAFT_DATA_DIR, XDG_CACHE_HOME and HOME. Default: process.env. */
  env?: Environment;
  /** Download into the cache when no local copy exists. Default true. */
  download?: boolean;
  /** Download progress, per file (`file` is its name). */
  onProgress?: (received: number, total: number | undefined, file: string) => void;
  /** Debian's dataset folder. Default /usr/share/datasets/fashion-mnist (overridable for tests). */
  systemDir?: string;
  /** Mirror base URL, ending in '/'. Default FASHION_MNIST_MIRROR. */
  mirror?: string;
}

export interface LoadOptions extends LocateOptions {
  /** Check each file's SHA-256 against the official one. Default true. */
  verify?: boolean;
}

export type FashionMnistOrigin = 'data-dir' | 'cache' | 'debian' | 'download';

export interface FashionMnistLocation {
  dir: string;
  origin: FashionMnistOrigin;
  /** Path of each file as found (may end in .gz). */
  files: Record<FashionMnistFileKey, string>;
}

export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

const KEYS = Object.keys(FASHION_MNIST_FILES) as FashionMnistFileKey[];

/** graft's cache folder: $XDG_CACHE_HOME/graft/fashion-mnist, else ~/.cache/graft/fashion-mnist. */
export function fashionMnistCacheDir(env: Environment = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || homedir(), '.cache');
  return path.join(base, 'graft', 'fashion-mnist');
}

/** Which of the needed files `dir` holds (raw preferred over .gz) and which are missing. */
async function scan(dir: string, needs: readonly FashionMnistFileKey[] = KEYS): Promise<{ found: Partial<Record<FashionMnistFileKey, string>>; missing: FashionMnistFileKey[] }> {
  const found: Partial<Record<FashionMnistFileKey, string>> = {};
  const missing: FashionMnistFileKey[] = [];
  for (const key of needs) {
    const raw = path.join(dir, FASHION_MNIST_FILES[key].name);
    if (await isPresent(raw)) found[key] = raw;
    else if (await isPresent(`${raw}.gz`)) found[key] = `${raw}.gz`;
    else missing.push(key);
  }
  return { found, missing };
}

/** The files when every needed one was found (the others may be absent). */
function complete(found: Partial<Record<FashionMnistFileKey, string>>, needs: readonly FashionMnistFileKey[] = KEYS): Partial<Record<FashionMnistFileKey, string>> | undefined {
  return needs.every((k) => found[k] !== undefined) ? found : undefined;
}

function threeWays(cache: string, mirror: string): string {
  const names = KEYS.map((k) => FASHION_MNIST_FILES[k].name).join(', ');
  return (
    `Fix it one of three ways: (1) pass --data-dir <folder> or set GRAFT_DATA_DIR to a folder holding ${names} (raw or .gz); ` +
    `(2) on Debian/Ubuntu run: apt-get install dataset-fashion-mnist; ` +
    `(3) allow network access to ${mirror} so graft can download the files into ${cache}.`
  );
}

/** Downloads in flight, per destination, so parallel loads of train and test share one download. */
const inflight = new Map<string, Promise<void>>();

function downloadOnce(dest: string, run: () => Promise<void>): Promise<void> {
  let p = inflight.get(dest);
  if (!p) {
    p = run().finally(() => inflight.delete(dest));
    inflight.set(dest, p);
  }
  return p;
}

export async function locateFashionMnist(opts: LocateOptions = {}): Promise<FashionMnistLocation> {
  // Every file was needed, so every file is there.
  return (await locate(opts, KEYS)) as FashionMnistLocation;
}

/** Finds the needed files: loading one split needs only its two, so graft evaluate needs no training files. */
async function locate(opts: LocateOptions, needs: readonly FashionMnistFileKey[]): Promise<Omit<FashionMnistLocation, 'files'> & { files: Partial<Record<FashionMnistFileKey, string>> }> {
  const env = opts.env ?? process.env;
  const mirror = opts.mirror ?? FASHION_MNIST_MIRROR;
  const cache = fashionMnistCacheDir(env);

  const explicit = opts.dataDir ?? (env.GRAFT_DATA_DIR || undefined);
  if (explicit !== undefined) {
    const dir = path.resolve(explicit);
    const { found, missing } = await scan(dir, needs);
    const files = complete(found, needs);
    if (files) return { dir, origin: 'data-dir', files };
    const from = opts.dataDir !== undefined ? '--data-dir' : 'GRAFT_DATA_DIR';
    // The other split's missing files too, so that training (which reads both) is fixed in one go.
    const others = (await scan(dir, KEYS.filter((k) => !needs.includes(k)))).missing;
    const alsoFor = others.some((k) => k.startsWith('train')) ? 'training' : 'the test set';
    const also = others.length > 0 ? ` (and, for ${alsoFor}, ${others.map((k) => FASHION_MNIST_FILES[k].name).join(', ')})` : '';
    throw new GraftError(
      'DATA_NOT_FOUND',
      `Data folder ${dir} (from ${from}) lacks ${missing.map((k) => FASHION_MNIST_FILES[k].name).join(', ')}${also} (each may also end in .gz). ` +
        `Put the files there, or drop ${from} to let graft search elsewhere. ${threeWays(cache, mirror)}`,
    );
  }

  const cached = await scan(cache, needs);
  const cachedFiles = complete(cached.found, needs);
  if (cachedFiles) return { dir: cache, origin: 'cache', files: cachedFiles };

  const systemDir = opts.systemDir ?? DEBIAN_FASHION_MNIST_DIR;
  const system = complete((await scan(systemDir, needs)).found, needs);
  if (system) return { dir: systemDir, origin: 'debian', files: system };

  const searched = `Searched graft's cache ${cache} and Debian's ${systemDir}`;
  if (opts.download === false) {
    throw new GraftError('DATA_NOT_FOUND', `Fashion-MNIST was not found and downloading is off. ${searched}. ${threeWays(cache, mirror)}`);
  }
  const host = new URL(mirror).hostname;
  try {
    for (const key of cached.missing) {
      const { name, sha256 } = FASHION_MNIST_FILES[key];
      const url = new URL(`${name}.gz`, mirror).href;
      const dest = path.join(cache, name);
      await downloadOnce(dest, () =>
        downloadFile(url, dest, { gunzip: true, sha256, allowedHosts: [host], onProgress: (r, t) => opts.onProgress?.(r, t, name) }),
      );
    }
  } catch (e) {
    throw new GraftError(
      'DATA_NOT_FOUND',
      `Fashion-MNIST was not found and the download failed (${(e as Error).message}). ${searched}. ${threeWays(cache, mirror)}`,
      { cause: e },
    );
  }
  const files = complete((await scan(cache, needs)).found, needs);
  if (!files) throw new GraftError('DATA_NOT_FOUND', `Fashion-MNIST was downloaded into ${cache} but the files are gone again. ${threeWays(cache, mirror)}`);
  return { dir: cache, origin: 'download', files };
}

async function readPayload(file: string, key: FashionMnistFileKey, verify: boolean): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readRegularFile(file, { maxBytes: READ_LIMITS.dataset, expected: 'a Fashion-MNIST IDX file (raw or .gz)', code: 'DATA_NOT_FOUND' });
  } catch (e) {
    if (e instanceof GraftError) throw e;
    throw new GraftError('DATA_NOT_FOUND', `Cannot read ${file} (${(e as Error).message}). Check that the file exists and is readable.`, { cause: e });
  }
  const payload = maybeGunzip(bytes, file);
  if (verify) {
    const actual = createHash('sha256').update(payload).digest('hex');
    const expected = FASHION_MNIST_FILES[key].sha256;
    if (actual !== expected) {
      throw new GraftError(
        'CHECKSUM_MISMATCH',
        `${file} is not the official Fashion-MNIST ${FASHION_MNIST_FILES[key].name}: its decompressed SHA-256 is ${actual}, expected ${expected}. ` +
          `Replace it: delete it from graft's cache so it is downloaded again, reinstall dataset-fashion-mnist, or pass verify: false for deliberately modified files.`,
      );
    }
  }
  parseIdx(payload, file); // header check here, so a corruption error names the file to delete
  return payload;
}

/** Loads the train (60 000) or test (10 000) split as a raw-pixel Dataset named "fashion-mnist/<split>". */
export async function loadFashionMnist(split: 'train' | 'test', opts: LoadOptions = {}): Promise<Dataset> {
  const verify = opts.verify ?? true;
  const [imagesKey, labelsKey]: [FashionMnistFileKey, FashionMnistFileKey] = split === 'train' ? ['trainImages', 'trainLabels'] : ['testImages', 'testLabels'];
  const { files } = await locate(opts, [imagesKey, labelsKey]);
  const [images, labels] = await Promise.all([readPayload(files[imagesKey]!, imagesKey, verify), readPayload(files[labelsKey]!, labelsKey, verify)]);
  return fashionMnistFromIdx(images, labels, `fashion-mnist/${split}`);
}
