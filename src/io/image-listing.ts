import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { GraftError } from '../errors.js';
import { parseCsv } from '../data/csv.js';
import { READ_LIMITS, readRegularFile } from './regular-file.js';

/**
 * Lists the images of a folder: or csv: task with their class and part, touching no pixels.
 *
 *   PATH/cat/*.jpg, PATH/dog/*.jpg                       flat: graft splits off the test set
 *   PATH/train/cat/…, PATH/val/cat/…, PATH/test/cat/…    nested: the parts as given (val/ or
 *                                                        validation/ and test/ are optional)
 *   FILE.csv with path,label rows                        like flat; paths relative to the CSV
 */

export type DataPart = 'train' | 'validation' | 'test';

export interface ListedImage {
  /** Absolute path. */
  file: string;
  /** Class name as in the data (folder name or CSV label). */
  label: string;
  part: DataPart;
}

export interface ImageListing {
  /** 'flat' and 'csv' need graft's test split; 'nested' brings its own parts. */
  layout: 'flat' | 'nested' | 'csv';
  /** Absolute folder or CSV file. */
  root: string;
  /** Every class found (train part for nested), sorted. */
  classes: string[];
  images: ListedImage[];
  /** Files left out for their extension (README, .txt, …). */
  ignored: number;
  /** Where a class's images are, for messages: a folder, or the CSV's rows. */
  classPlace(name: string, part?: DataPart): string;
}

/** Extensions (case-insensitive) listed as images; the decoder tells formats apart by content. */
export const USER_IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.gif'];

const LAYOUT_HELP = (root: string): string =>
  `Put each class's images in a subfolder named after it: ${path.join(root, 'cat', '001.jpg')}, ${path.join(root, 'dog', '001.jpg')}; ` +
  `or split them yourself as ${path.join(root, 'train', 'cat')}/…, ${path.join(root, 'test', 'cat')}/… (and optionally val/)`;

function notFound(message: string): GraftError {
  return new GraftError('DATA_NOT_FOUND', message);
}

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/** Subfolders (symlinks to folders included) and the count of other entries; hidden names skipped. */
async function entriesOf(dir: string): Promise<{ folders: string[]; files: string[] }> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw notFound(`Cannot read folder ${dir} (${errno(e)}). Check that it exists and that you may read it.`);
  }
  const folders: string[] = [];
  const files: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    let isDir = e.isDirectory();
    // A symlink to a folder counts as one; a broken or looping link is left to the file checks.
    if (e.isSymbolicLink()) isDir = (await stat(path.join(dir, e.name)).catch(() => undefined))?.isDirectory() ?? false;
    (isDir ? folders : files).push(e.name);
  }
  return { folders: folders.sort(), files: files.sort() };
}

function isImageName(name: string): boolean {
  return USER_IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

async function listClasses(dir: string, part: DataPart, classes: readonly string[], out: ListedImage[]): Promise<number> {
  let ignored = 0;
  for (const name of classes) {
    const { folders, files } = await entriesOf(path.join(dir, name));
    ignored += folders.length;
    for (const f of files) {
      if (isImageName(f)) out.push({ file: path.join(dir, name, f), label: name, part });
      else ignored++;
    }
  }
  return ignored;
}

/** Lists a folder task's images (flat or nested layout). */
export async function listImageFolder(folder: string): Promise<ImageListing> {
  const root = path.resolve(folder);
  const st = await stat(root).catch((e: unknown) => {
    throw notFound(`No folder at ${root} (${errno(e)}). folder:PATH needs a folder holding one subfolder per class. ${LAYOUT_HELP(root)}.`);
  });
  if (!st.isDirectory()) {
    const hint = root.toLowerCase().endsWith('.csv') ? ` For a CSV of path,label rows write csv:${folder}.` : '';
    throw notFound(`${root} is a file, not a folder.${hint} ${LAYOUT_HELP(root)}.`);
  }
  const top = await entriesOf(root);
  const images: ListedImage[] = [];
  if (top.folders.includes('train')) {
    const valNames = top.folders.filter((f) => f === 'val' || f === 'validation');
    if (valNames.length > 1) throw new GraftError('BAD_ARGUMENT', `${root} holds both val/ and validation/. Keep one of them.`);
    const stray = top.folders.filter((f) => f !== 'train' && f !== 'test' && f !== valNames[0]);
    if (stray.length > 0) {
      throw new GraftError('BAD_ARGUMENT', `${root} holds train/ and also ${stray.map((s) => `${s}/`).join(', ')}: with train/ present graft reads only train/, val/ (or validation/) and test/, each with one subfolder per class. Move ${stray.join(', ')} inside them, or remove train/ to use class folders directly.`);
    }
    const trainDir = path.join(root, 'train');
    const classes = (await entriesOf(trainDir)).folders;
    if (classes.length === 0) throw notFound(`${trainDir} has no class subfolders. Put each class's images in ${path.join(trainDir, 'cat')}/…, ${path.join(trainDir, 'dog')}/….`);
    let ignored = await listClasses(trainDir, 'train', classes, images);
    const extra: [string, DataPart][] = [...valNames.map((v): [string, DataPart] => [v, 'validation']), ...(top.folders.includes('test') ? [['test', 'test'] as [string, DataPart]] : [])];
    for (const [name, part] of extra) {
      const dir = path.join(root, name);
      const found = (await entriesOf(dir)).folders;
      const unknown = found.filter((c) => !classes.includes(c));
      if (unknown.length > 0) {
        throw new GraftError('BAD_ARGUMENT', `${dir} has class folder(s) ${unknown.join(', ')} that ${trainDir} lacks; a model cannot be scored on classes it never trained on. Classes in train/: ${classes.join(', ')}. Add them to train/ or remove them from ${name}/.`);
      }
      ignored += await listClasses(dir, part, found, images);
    }
    const partDir = (p?: DataPart): string => path.join(root, p === 'validation' ? valNames[0] ?? 'val' : (p ?? 'train'));
    return { layout: 'nested', root, classes, images, ignored, classPlace: (name, p) => path.join(partDir(p), name) };
  }
  if (top.folders.length === 0) {
    const what = top.files.length === 0 ? 'is empty' : `has no class subfolders, only ${top.files.length} file(s)`;
    throw notFound(`Image folder ${root} ${what}. ${LAYOUT_HELP(root)}.`);
  }
  const ignored = await listClasses(root, 'train', top.folders, images);
  return { layout: 'flat', root, classes: top.folders, images, ignored, classPlace: (name) => path.join(root, name) };
}

const HEADER_PATH = /^(path|file|filename|file_name|image|filepath)$/i;
const HEADER_LABEL = /^(label|class|category|target)$/i;

/** Lists a csv task's images: `path,label` rows, an optional header row, paths relative to the CSV. */
export async function listImageCsv(csvFile: string): Promise<ImageListing> {
  const file = path.resolve(csvFile);
  let text: string;
  try {
    text = (await readRegularFile(file, { maxBytes: READ_LIMITS.json, expected: 'a CSV file of path,label rows', code: 'DATA_NOT_FOUND' })).toString('utf8');
  } catch (e) {
    if (e instanceof GraftError) throw e;
    throw notFound(`Cannot read CSV ${file} (${errno(e)}). csv:FILE needs a file of path,label rows, e.g. "cat/001.jpg,cat".`);
  }
  const rows = parseCsv(text, file);
  const first = rows[0];
  const body = first && HEADER_PATH.test(first.fields[0]?.trim() ?? '') && HEADER_LABEL.test(first.fields[1]?.trim() ?? '') ? rows.slice(1) : rows;
  if (body.length === 0) throw notFound(`CSV ${file} has no rows. Write one path,label row per image, e.g. "cat/001.jpg,cat" (paths relative to the CSV).`);
  const dir = path.dirname(file);
  const images: ListedImage[] = [];
  const seen = new Map<string, string>();
  for (const row of body) {
    const [p, label, ...rest] = row.fields.map((f) => f.trim());
    if (!p || !label || rest.some((r) => r !== '')) {
      throw new GraftError('DATA_CORRUPT', `${file} line ${row.line}: expected 2 fields, path,label; received ${row.fields.length} (${JSON.stringify(row.fields.join(','))}). Quote a path or label holding a comma: "a,b.jpg",cat.`);
    }
    const abs = path.resolve(dir, p);
    const before = seen.get(abs);
    if (before !== undefined && before !== label) throw new GraftError('DATA_CORRUPT', `${file} line ${row.line}: ${p} is labelled ${JSON.stringify(label)} here and ${JSON.stringify(before)} earlier. Give each image one label.`);
    if (before !== undefined) continue;
    seen.set(abs, label);
    images.push({ file: abs, label, part: 'train' });
  }
  const classes = [...new Set(images.map((i) => i.label))].sort();
  return { layout: 'csv', root: file, classes, images, ignored: 0, classPlace: (name) => `the rows of ${file} labelled ${JSON.stringify(name)}` };
}
