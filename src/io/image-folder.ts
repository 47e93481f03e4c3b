import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { fitImage, toBytes } from '../data/image-convert.js';
import { type DecodedImages, decodeCacheDir, decodeCacheKey, readDecodeCache, writeDecodeCache } from './decode-cache.js';
import { decodeImage } from './image-decode.js';
import { READ_LIMITS, readRegularFile } from './regular-file.js';
import { IMAGE_EXTENSIONS } from './image-extensions.js';
import type { Environment } from './environment.js';

/**
 * Loads an image folder with one subfolder per class (PNG, JPEG, WebP, BMP, GIF; told apart by content) into a
 * raw-pixel Dataset. Decoded pixels are cached (see decode-cache.ts), keyed by the file list with
 * sizes and mtimes plus the options, so a second load reads one file instead of decoding again.
 */

export interface ImageFolderOptions {
  /** [height, width] of every sample. Default: the first image's size (others are resized to it). */
  size?: readonly [number, number];
  /** 1 (luma) or 3 (RGB). Default: the first image's (grey PNGs give 1, everything else 3). */
  channels?: 1 | 3;
  /** Class subfolders, in label order. Default: every subfolder, sorted by name. */
  classes?: readonly string[];
  /** Called after each decoded image (not called on a cache hit). */
  onProgress?: (done: number, total: number) => void;
  /** Use the decode cache. Default true. */
  cache?: boolean;
  /** Cache folder. Default decodeCacheDir(env): $XDG_CACHE_HOME/graft/decoded, else ~/.cache/graft/decoded. */
  cacheDir?: string;
  /** Environment for XDG_CACHE_HOME and HOME. Default process.env. */
  env?: Environment;
  /** Dataset.source. Default the folder's path. */
  source?: string;
}

// File names (case-insensitive) that count as images; others (README, .DS_Store) are ignored.
// Defined in a pure module so image zips read in a page agree; re-exported for callers.
export { IMAGE_EXTENSIONS };

/** Images decoded at once while reading; bounds open files and memory held by pending reads. */
const READ_AHEAD = 64;

function notFound(message: string): GraftError {
  return new GraftError('DATA_NOT_FOUND', message);
}

async function listDir(dir: string): Promise<import('node:fs').Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw notFound(`Cannot read image folder ${dir} (${code ?? (e as Error).message}). Pass a folder holding one subfolder per class, e.g. ${path.join(dir, 'cat')}/*.jpg.`);
  }
}

interface Listing {
  classes: string[];
  files: { rel: string; label: number }[];
}

async function listImages(root: string, wanted?: readonly string[]): Promise<Listing> {
  const entries = await listDir(root);
  const folders = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  if (folders.length === 0) {
    const what = entries.length === 0 ? 'is empty' : `has no class subfolders (only ${entries.length} file(s))`;
    throw notFound(`Image folder ${root} ${what}. Put each class's images in a subfolder named after it, e.g. ${path.join(root, 'cat')}/0001.jpg.`);
  }
  let classes = folders;
  if (wanted !== undefined) {
    if (wanted.length === 0) throw new GraftError('BAD_ARGUMENT', `loadImageFolder ${root}: classes is empty. List the class subfolders to load, or leave it out to load all of [${folders.join(', ')}].`);
    const missing = wanted.filter((c) => !folders.includes(c));
    if (missing.length > 0) {
      throw notFound(`Image folder ${root} has no class subfolder(s) ${missing.map((m) => JSON.stringify(m)).join(', ')}. Its subfolders are [${folders.join(', ')}].`);
    }
    const dup = wanted.find((c, i) => wanted.indexOf(c) !== i);
    if (dup !== undefined) throw new GraftError('BAD_ARGUMENT', `loadImageFolder ${root}: class ${JSON.stringify(dup)} is listed twice in classes. List each once.`);
    classes = [...wanted];
  }
  const files: Listing['files'] = [];
  for (const [label, name] of classes.entries()) {
    const images = (await listDir(path.join(root, name)))
      .filter((e) => !e.isDirectory() && !e.name.startsWith('.') && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase()))
      .map((e) => e.name)
      .sort();
    if (images.length === 0) {
      throw notFound(`Class folder ${path.join(root, name)} holds no images (${IMAGE_EXTENSIONS.join(', ')}). Add images or leave the class out.`);
    }
    for (const f of images) files.push({ rel: path.join(name, f), label });
  }
  return { classes, files };
}

async function readImage(root: string, rel: string): Promise<Uint8Array> {
  const file = path.join(root, rel);
  try {
    return await readRegularFile(file, { maxBytes: READ_LIMITS.image, expected: 'an image file (PNG, JPEG, WebP, BMP or GIF), or remove it from the class folder', code: 'DATA_NOT_FOUND' });
  } catch (e) {
    if (e instanceof GraftError) throw e;
    throw notFound(`Cannot read image ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Check its permissions or remove it.`);
  }
}

function checkOptions(root: string, opts: ImageFolderOptions): void {
  const { size, channels } = opts;
  if (size !== undefined && (size.length !== 2 || !size.every((v) => Number.isInteger(v) && v >= 1 && v <= 4096))) {
    throw new GraftError('BAD_ARGUMENT', `loadImageFolder ${root}: size must be [height, width] in whole pixels (1..4096), received [${size.join(', ')}]. Pass e.g. [64, 64].`);
  }
  if (channels !== undefined && channels !== 1 && channels !== 3) {
    throw new GraftError('BAD_ARGUMENT', `loadImageFolder ${root}: channels must be 1 or 3, received ${String(channels)}.`);
  }
}

async function decodeAll(root: string, listing: Listing, opts: ImageFolderOptions): Promise<DecodedImages> {
  const { files } = listing;
  let shape: [number, number, number] | undefined;
  let pixels = new Uint8Array(0);
  const labels = new Int32Array(files.length);
  let done = 0;
  for (let start = 0; start < files.length; start += READ_AHEAD) {
    const chunk = files.slice(start, start + READ_AHEAD);
    const bytes = await Promise.all(chunk.map((f) => readImage(root, f.rel)));
    chunk.forEach((f, k) => {
      const i = start + k;
      const img = decodeImage(bytes[k]!, path.join(root, f.rel));
      if (!shape) {
        shape = [opts.size?.[0] ?? img.height, opts.size?.[1] ?? img.width, opts.channels ?? (img.channels === 1 ? 1 : 3)];
        pixels = new Uint8Array(files.length * shape[0] * shape[1] * shape[2]);
      }
      const [h, w, c] = shape;
      const fitted = fitImage(img, w, h, c as 1 | 3);
      toBytes(fitted.data, pixels, i * h * w * c);
      labels[i] = f.label;
      opts.onProgress?.(++done, files.length);
    });
  }
  return { pixels, labels, classNames: listing.classes, sampleShape: shape ?? [1, 1, 1] };
}

function toDataset(d: DecodedImages, source: string): Dataset {
  return {
    x: Float32Array.from(d.pixels),
    y: d.labels,
    sampleShape: [...d.sampleShape],
    classNames: [...d.classNames],
    pixelRange: 'raw',
    source,
  };
}

/**
 * Loads `dir` (one subfolder per class) as a Dataset with raw 0..255 values, sample shape
 * [h, w, c] and the class folder names as class names.
 */
export async function loadImageFolder(dir: string, opts: ImageFolderOptions = {}): Promise<Dataset> {
  const root = path.resolve(dir);
  checkOptions(root, opts);
  const listing = await listImages(root, opts.classes);
  const source = opts.source ?? root;
  if (opts.cache === false) return toDataset(await decodeAll(root, listing, opts), source);

  const inputs = await Promise.all(
    listing.files.map(async (f) => {
      const s = await stat(path.join(root, f.rel)).catch(() => undefined);
      return { path: f.rel, size: s?.size ?? -1, mtimeMs: s?.mtimeMs ?? -1 };
    }),
  );
  const key = decodeCacheKey(inputs, { root, classes: listing.classes, size: opts.size ?? null, channels: opts.channels ?? null });
  const cacheDir = opts.cacheDir ?? decodeCacheDir(opts.env);
  const cached = await readDecodeCache(cacheDir, key);
  if (cached && cached.labels.length === listing.files.length) return toDataset(cached, source);
  const decoded = await decodeAll(root, listing, opts);
  // The cache only saves time: a folder that cannot be written must not fail the load.
  await writeDecodeCache(cacheDir, key, decoded).catch(() => undefined);
  return toDataset(decoded, source);
}
