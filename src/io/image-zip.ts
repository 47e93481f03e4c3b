import { GraftError, describeValue } from '../errors.js';
import { hasImageExtension, IMAGE_EXTENSIONS } from './image-extensions.js';
import { READ_LIMITS } from './read-limits.js';
import { extractZipEntry, listZipEntries, type ZipEntry } from './zip-read.js';

/** One image read from a zip: its name inside its class, and its undecoded bytes. */
export interface ImageZipFile {
  name: string;
  bytes: Uint8Array;
}

/** Images by class, classes and files sorted by name; `skipped` lists the entries that are no image of a class. */
export interface ImageZip {
  classes: Array<{ name: string; files: ImageZipFile[] }>;
  skipped: string[];
}

/**
 * Bounds on what one image zip may make graft read. A zip in memory is untrusted: its directory
 * can claim millions of entries or terabytes, so every claim is checked before anything inflates.
 */
export const IMAGE_ZIP_LIMITS = {
  /** Entries in the zip's directory; CIFAR-10 whole is 60,000 images. */
  entries: 250_000,
  /** One image, uncompressed: what a file on disk may be (READ_LIMITS.image). */
  imageBytes: READ_LIMITS.image,
  /** All images together, uncompressed: what a page can hold beside the zip itself. */
  totalBytes: 2 * 2 ** 30,
} as const;

/** Deflate cannot compress better than 1032:1 (plus a few header bytes), so a larger claimed size is a lie. */
const DEFLATE_MAX_RATIO = 1032;

/**
 * Reads a zip of images held in memory (a file dropped on a page): one folder per class, possibly
 * all under one top folder (as zipping a folder gives), or images with no folder, which make one
 * class named after the zip. `__MACOSX/` entries, dot-files, non-images and images nested below a
 * class folder are left out and listed in `skipped`. Zip bombs are refused before inflating
 * (IMAGE_ZIP_LIMITS, the deflate ratio) and while inflating (zip-read.ts). `name` names the zip in
 * errors.
 */
export function readImageZip(bytes: Uint8Array, name: string): ImageZip {
  if (bytes.length === 0) throw new GraftError('DATA_CORRUPT', `${name} is empty (0 bytes), not a zip file. Pass a .zip of image folders, one folder per class.`);
  if (bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    throw new GraftError('DATA_CORRUPT', `${name} is not a zip file (it starts with bytes ${describeHead(bytes)}, not "PK"). Pass a .zip of image folders, one folder per class.`);
  }
  const entries = asDataError(() => listZipEntries(bytes, name, IMAGE_ZIP_LIMITS.entries));
  const skipped: string[] = [];
  const images: Array<{ parts: string[]; entry: ZipEntry }> = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    // Some Windows zippers write backslashes; the zip format means '/'.
    const path = entry.name.replace(/\\/g, '/');
    if (/(^|\/)\.\.(\/|$)/.test(path) || /^(\/|[a-zA-Z]:)/.test(path)) {
      throw new GraftError('DATA_CORRUPT', `${name}: entry ${describeValue(entry.name)} points outside the zip's folder (zip-slip). No zipping tool writes such entries; refusing the file.`);
    }
    if (path.endsWith('/')) continue; // a folder entry: its files are entries of their own
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts[0] === '__MACOSX' || parts.some((p) => p.startsWith('.')) || !hasImageExtension(path) || seen.has(parts.join('/'))) {
      skipped.push(entry.name);
      continue;
    }
    seen.add(parts.join('/'));
    images.push({ parts, entry });
  }
  if (images.length === 0) {
    throw new GraftError('DATA_NOT_FOUND', `${name} holds no images (${IMAGE_EXTENSIONS.join(', ')}) among its ${entries.length} entries. Zip one folder per class of images, e.g. cat/0001.jpg and dog/0001.jpg.`);
  }
  // One shared top folder that holds class folders is the folder that was zipped: it is no class.
  const top = images[0]!.parts[0]!;
  if (images.every((i) => i.parts.length >= 2 && i.parts[0] === top) && images.some((i) => i.parts.length >= 3)) {
    for (const i of images) i.parts.shift();
  }
  const loose = images.filter((i) => i.parts.length === 1);
  const inFolders = images.filter((i) => i.parts.length >= 2);
  if (loose.length > 0 && inFolders.length > 0) {
    throw new GraftError(
      'BAD_ARGUMENT',
      `${name} holds images both loose (${describeValue(loose[0]!.entry.name)}) and in class folders (${describeValue(inFolders[0]!.entry.name)}); which class the loose ones belong to is unknown. Put every image in its class's folder, or zip one class's images alone.`,
    );
  }
  const byClass = new Map<string, Array<{ file: string; entry: ZipEntry }>>();
  for (const i of images) {
    // As an image folder on disk is read: a class folder's own files, not its subfolders'.
    if (i.parts.length > 2) {
      skipped.push(i.entry.name);
      continue;
    }
    const cls = i.parts.length === 1 ? zipStem(name) : i.parts[0]!;
    const file = i.parts[i.parts.length - 1]!;
    byClass.set(cls, [...(byClass.get(cls) ?? []), { file, entry: i.entry }]);
  }
  if (byClass.size === 0) {
    throw new GraftError('DATA_NOT_FOUND', `${name} holds images only in folders nested below class folders (e.g. ${describeValue(skipped[skipped.length - 1] ?? '')}). Put each class's images directly in a folder named after the class.`);
  }
  checkClaims([...byClass.values()].flat().map((f) => f.entry), bytes.length, name);
  const classes = [...byClass.keys()].sort().map((cls) => ({
    name: cls,
    files: byClass
      .get(cls)!
      .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
      .map(({ file, entry }) => ({ name: file, bytes: asDataError(() => extractZipEntry(bytes, entry, name, IMAGE_ZIP_LIMITS.imageBytes)) })),
  }));
  return { classes, skipped };
}

/** Every size the directory claims, checked before the first byte is inflated. */
function checkClaims(entries: readonly ZipEntry[], zipBytes: number, name: string): void {
  let total = 0;
  for (const e of entries) {
    const entry = describeValue(e.name);
    if (e.size > IMAGE_ZIP_LIMITS.imageBytes) {
      throw new GraftError('DATA_CORRUPT', `${name}: entry ${entry} declares ${e.size} bytes uncompressed, more than the ${IMAGE_ZIP_LIMITS.imageBytes} bytes graft reads for one image; refusing the zip (a zip bomb, or no image graft can train on). Remove that file from the zip.`);
    }
    const most = e.method === 0 ? e.compressedSize : DEFLATE_MAX_RATIO * e.compressedSize + 64;
    if (e.compressedSize > zipBytes || e.size > most) {
      throw new GraftError('DATA_CORRUPT', `${name}: entry ${entry} claims ${e.size} bytes from ${e.compressedSize} stored bytes (the zip has ${zipBytes}); its directory is damaged. Zip the images again.`);
    }
    total += e.size;
    if (total > IMAGE_ZIP_LIMITS.totalBytes) {
      throw new GraftError('DATA_CORRUPT', `${name}: its images add up to more than ${IMAGE_ZIP_LIMITS.totalBytes} bytes uncompressed (reached at entry ${entry}); refusing it (a zip bomb, or more than a page can hold). Zip fewer images.`);
    }
  }
}

/** zip-read reports damage as a model's; in an image zip it is the data that is damaged. */
function asDataError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof GraftError && e.code === 'MODEL_CORRUPT') throw new GraftError('DATA_CORRUPT', e.message.replace('Save or download it again.', 'Zip the images again, or download the zip again.'), { cause: e });
    throw e;
  }
}

/** "photos" from "C:\\Users\\me\\photos.zip" or "photos.zip": the class a flat zip's images make. */
function zipStem(name: string): string {
  const base = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

function describeHead(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
}
