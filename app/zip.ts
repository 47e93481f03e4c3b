// Zips of images, expanded on the page into File objects: the worker then decodes them like files
// chosen one by one, so its messages do not change.
import { readImageZip } from '../src/browser.js';

const TYPES: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', bmp: 'image/bmp' };

export const isZip = (f: File): boolean => /\.zip$/i.test(f.name) || f.type === 'application/zip' || f.type === 'application/x-zip-compressed';

export interface ZipClasses {
  classes: Array<{ name: string; files: File[] }>;
  /** Entries that are not images (or are Mac resource forks, dot-files), as `zip/entry`. */
  skipped: string[];
}

/** A zip's classes: one per folder inside (under one top folder or none), or one named after a flat zip. */
export async function zipClasses(zip: File): Promise<ZipClasses> {
  const read = readImageZip(new Uint8Array(await zip.arrayBuffer()), zip.name);
  return {
    classes: read.classes.map((c) => ({ name: c.name, files: c.files.map((f) => asFile(f.name, f.bytes)) })),
    skipped: read.skipped.map((s) => `${zip.name}/${s}`),
  };
}

/** One class slot's choice: images as they are, and every image inside each zip (its folders ignored). */
export async function expandZips(files: File[]): Promise<{ files: File[]; skipped: string[] }> {
  const out: File[] = [];
  const skipped: string[] = [];
  for (const f of files) {
    if (!isZip(f)) {
      out.push(f);
      continue;
    }
    const z = await zipClasses(f);
    out.push(...z.classes.flatMap((c) => c.files));
    skipped.push(...z.skipped);
  }
  return { files: out, skipped };
}

function asFile(entry: string, bytes: Uint8Array): File {
  const base = entry.split('/').pop() ?? entry;
  const ext = base.split('.').pop()?.toLowerCase() ?? '';
  // The worker decodes by content (createImageBitmap); the type only helps the page's image filter.
  return new File([bytes as Uint8Array<ArrayBuffer>], base, { type: TYPES[ext] ?? 'application/octet-stream' });
}
