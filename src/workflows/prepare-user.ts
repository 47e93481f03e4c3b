import { homedir } from 'node:os';
import * as path from 'node:path';
import { GraftError } from '../errors.js';
import { deriveSeed } from '../engine/rng.js';
import { classCounts, type Dataset } from '../data/dataset.js';
import { SKIPPED_LISTED, type DataSummary } from '../data/data-summary.js';
import { normalizePixels } from '../data/normalize.js';
import { perClassSubsample } from '../data/subsample.js';
import { validationSplit } from '../data/split.js';
import { holdOutTest, TEST_FRACTION, TEST_SPLIT_SEED } from '../data/test-split.js';
import { formatUserTaskSpec, isUserTaskSpec, parseUserTaskSpec, resolveUserClasses, type UserTaskSpec } from '../data/user-task.js';
import { listImageCsv, listImageFolder, USER_IMAGE_EXTENSIONS, type DataPart, type ImageListing } from '../io/image-listing.js';
import { loadImageSet, loadImageSetRows } from '../io/image-set.js';
import type { DataOptions, PreparedData } from './prepare.js';

/**
 * folder: and csv: tasks → train / validation / test sets. Everything is decoded here, before any
 * training: bad files are skipped and named, and a class left with too few images is refused now
 * rather than mid-epoch.
 */

/** Image side when neither the model nor --input says (graft's small CNN and MLP train fast at it). */
export const USER_IMAGE_DEFAULT_SIDE = 32;
/** A class this many times larger than the smallest earns the --class-weight suggestion. */
export const IMBALANCE_NOTE_RATIO = 1.5;
/** Sets this large say how decoding is going (not shown on a cache hit). */
const PROGRESS_FROM = 2000;

/** A note at each quarter of the decoding. */
function decodeProgress(note: (line: string) => void): (done: number, total: number) => void {
  let shown = 0;
  return (done, total) => {
    const quarter = Math.floor((4 * done) / total);
    if (quarter > shown) note(`decoded ${done} of ${total} images`);
    shown = Math.max(shown, quarter);
  };
}

/** Sets larger than this as float32 are read from the decode cache a batch at a time (DataOptions.stream). */
export const STREAM_ABOVE_BYTES = 512 * 1024 ** 2;

/** The threshold: GRAFT_STREAM_ABOVE_MB when set (0 keeps every set on disk; a huge value none), else STREAM_ABOVE_BYTES. */
function streamAboveBytes(): number {
  const text = process.env.GRAFT_STREAM_ABOVE_MB;
  if (text === undefined || text === '') return STREAM_ABOVE_BYTES;
  const mb = Number(text);
  if (!Number.isFinite(mb) || mb < 0) throw new GraftError('BAD_ARGUMENT', `GRAFT_STREAM_ABOVE_MB must be a number of megabytes ≥ 0; received ${JSON.stringify(text)}. Unset it for the default (${STREAM_ABOVE_BYTES / 1024 ** 2}).`);
  return mb * 1024 ** 2;
}

/** Skipped files named on stderr; run.json lists more. */
const SKIPPED_PRINTED = 5;

/** `~` and `~/x` as a shell would expand them: in `folder:~/photos` the shell does not. */
function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(homedir(), p.slice(1)) : p;
}

/** A folder:/csv: spec whose relative PATH is made absolute against `baseDir`; other specs unchanged. */
export function rebaseUserTask(text: string, baseDir: string): string {
  if (!isUserTaskSpec(text)) return text;
  const spec = parseUserTaskSpec(text);
  const p = expandHome(spec.path);
  return formatUserTaskSpec({ ...spec, path: path.isAbsolute(p) ? p : path.resolve(baseDir, p) });
}

interface Fit {
  height: number;
  width: number;
  channels?: 1 | 3;
  /** The model takes [h, w] samples (no channel axis). */
  flat: boolean;
}

function fitFor(opts: DataOptions): Fit {
  const shape = opts.modelInput;
  if (shape) {
    const [, h, w, c] = shape;
    const ok = (v: number | null | undefined): v is number => typeof v === 'number' && v >= 1;
    if (!ok(h) || !ok(w) || (shape.length === 4 && c !== 1 && c !== 3) || (shape.length !== 3 && shape.length !== 4)) {
      throw new GraftError('SHAPE_MISMATCH', `The model takes inputs of shape [${shape.join(', ')}], not images ([h, w], [h, w, 1] or [h, w, 3]); a folder or CSV of images cannot feed it. Use a model with an image input.`);
    }
    return { height: h, width: w, channels: shape.length === 3 || c === 1 ? 1 : 3, flat: shape.length === 3 };
  }
  const side = USER_IMAGE_DEFAULT_SIDE;
  return { height: opts.image?.height ?? side, width: opts.image?.width ?? side, ...(opts.image?.channels && { channels: opts.image.channels }), flat: false };
}

function refuse(message: string): GraftError {
  return new GraftError('BAD_ARGUMENT', message);
}

function dataset(x: Float32Array, y: Int32Array, shape: number[], classNames: string[], source: string): Dataset {
  return { x, y, sampleShape: shape, classNames, pixelRange: 'raw', source };
}

export async function prepareUserTask(spec: UserTaskSpec, opts: DataOptions): Promise<PreparedData> {
  const given = expandHome(spec.path);
  const listing: ImageListing = spec.kind === 'folder' ? await listImageFolder(given) : await listImageCsv(given);
  const where = spec.kind === 'folder' ? listing.root : `CSV ${listing.root}`;
  const task = formatUserTaskSpec({ ...spec, path: listing.root });
  if (spec.mode === 'all' && listing.classes.length < 2) {
    throw refuse(`${where} has only one class (${listing.classes[0]}); a classifier needs at least 2. ${spec.kind === 'folder' ? `Add a second class folder beside ${listing.classPlace(listing.classes[0]!)}.` : 'Add rows with a second label.'}`);
  }
  const { picked, names } = resolveUserClasses(spec, listing.classes, where);
  const labelOf = new Map(picked.map((c, i) => [c, i]));
  const inputs = listing.images.filter((im) => labelOf.has(im.label)).map((im) => ({ file: im.file, label: labelOf.get(im.label)!, part: im.part }));
  for (const c of picked) {
    if (!inputs.some((im) => im.part === 'train' && im.label === labelOf.get(c))) {
      throw new GraftError('DATA_NOT_FOUND', `Class ${JSON.stringify(c)} has no images: ${listing.classPlace(c, 'train')} holds no ${USER_IMAGE_EXTENSIONS.join(', ')} files. Add images, or leave the class out with :exclude=${c}.`);
    }
  }

  const hasValFolder = inputs.some((im) => im.part === 'validation');
  const fit = fitFor(opts);
  const resize = opts.resize ?? 'crop';
  const setOptions = {
    height: fit.height,
    width: fit.width,
    ...(fit.channels && { channels: fit.channels }),
    resize,
    ...(opts.decodeCache !== undefined && { cache: opts.decodeCache }),
    ...(opts.cacheDir !== undefined && { cacheDir: opts.cacheDir }),
    ...(opts.onNote && inputs.length >= PROGRESS_FROM && { onProgress: decodeProgress(opts.onNote) }),
  };
  // Large sets stay on disk, read a batch at a time; where the cache cannot be written, in memory.
  const floatBytes = inputs.length * fit.height * fit.width * (fit.channels ?? 3) * 4;
  const stream = opts.decodeCache !== false && (opts.stream ?? floatBytes > streamAboveBytes());
  const stored = stream ? await loadImageSetRows(inputs, picked, setOptions) : undefined;
  if (stream && !stored) opts.onNote?.(`the decode cache cannot be written, so the ${inputs.length} images are held in memory`);
  const decoded = stored ? { ...stored, pixels: new Uint8Array(0) } : await loadImageSet(inputs, picked, setOptions);
  if (hasValFolder && opts.valSplit) opts.onNote?.(`--val-split ${opts.valSplit} is ignored: ${path.dirname(listing.classPlace(picked[0]!, 'validation'))} is the validation set`);
  const skipped = decoded.skipped ?? [];
  const skippedAt = new Set(skipped.map((s) => s.index));
  const kept = inputs.filter((_, i) => !skippedAt.has(i));
  const [h, w, c] = decoded.sampleShape;
  const size = h * w * c;
  const rel = (f: string): string => (spec.kind === 'folder' ? path.relative(listing.root, f) : path.relative(path.dirname(listing.root), f));

  // Refused before training: a class that cannot appear in both training and testing.
  const usable = new Array<number>(picked.length).fill(0);
  for (const im of kept) if (im.part === 'train') usable[im.label] = (usable[im.label] ?? 0) + 1;
  picked.forEach((cls, label) => {
    if (usable[label]! >= 2) return;
    const bad = skipped.filter((s) => inputs[s.index]!.label === label);
    const why = bad.length > 0 ? ` (${bad.length} skipped: ${bad.slice(0, 3).map((s) => `${rel(s.file)}: ${s.reason}`).join('; ')})` : '';
    throw refuse(`Class ${JSON.stringify(cls)} has ${usable[label]} usable image(s) in ${listing.classPlace(cls, 'train')}${why}; each class needs at least 2, one to train on and one to test. Add images, or leave the class out with :exclude=${cls}.`);
  });

  // Pixels and labels per part, in listing order.
  const byPart = (part: DataPart, keep?: (i: number) => boolean): Dataset => {
    const idx: number[] = [];
    kept.forEach((im, i) => {
      if (im.part === part && (keep?.(i) ?? true)) idx.push(i);
    });
    const y = Int32Array.from(idx, (i) => kept[i]!.label);
    const shape = fit.flat ? [h, w] : [h, w, c];
    if (stored) return { ...dataset(new Float32Array(0), y, shape, [...names], `${task} (${part})`), rows: stored.rows.select(idx) };
    const x = new Float32Array(idx.length * size);
    idx.forEach((i, k) => x.set(decoded.pixels.subarray(i * size, (i + 1) * size), k * size));
    return dataset(x, y, shape, [...names], `${task} (${part})`);
  };
  const hasTest = kept.some((im) => im.part === 'test');
  const hasVal = kept.some((im) => im.part === 'validation');
  let train: Dataset;
  let test: Dataset;
  if (hasTest) {
    train = byPart('train');
    test = byPart('test');
  } else {
    const trainIdx = kept.map((im, i) => (im.part === 'train' ? i : -1)).filter((i) => i >= 0);
    const isTest = holdOutTest(trainIdx.map((i) => kept[i]!.label), trainIdx.map((i) => kept[i]!.file), picked);
    const testSet = new Set(trainIdx.filter((_, k) => isTest[k] === 1));
    train = byPart('train', (i) => !testSet.has(i));
    test = byPart('train', (i) => testSet.has(i));
    test = { ...test, source: `${task} (test)` };
  }
  const seed = opts.seed ?? 0;
  if (opts.perClass !== undefined) train = perClassSubsample(train, opts.perClass, deriveSeed(seed, 'per-class'));
  let validation: Dataset | undefined;
  if (hasVal) validation = byPart('validation');
  else if (opts.valSplit !== undefined && opts.valSplit > 0) {
    const split = validationSplit(train, opts.valSplit, deriveSeed(seed, 'val-split'));
    train = split.train;
    validation = split.validation;
  }

  const counts = { train: classCounts(train), test: classCounts(test), ...(validation && { validation: classCounts(validation) }) };
  const imbalance = Math.max(...counts.train) / Math.max(1, Math.min(...counts.train));
  const summary: DataSummary = {
    kind: spec.kind,
    path: listing.root,
    split: {
      test: hasTest ? 'folders' : 'seeded',
      ...(!hasTest && { fraction: TEST_FRACTION, seed: TEST_SPLIT_SEED }),
      validation: hasVal ? 'folders' : validation ? 'seeded' : 'none',
    },
    sizes: { train: train.y.length, test: test.y.length, ...(validation && { validation: validation.y.length }) },
    classCounts: counts,
    imbalance,
    sampleShape: [h, w, c],
    resize,
    skippedCount: skipped.length,
    skipped: skipped.slice(0, SKIPPED_LISTED).map((s) => ({ file: rel(s.file), reason: s.reason })),
  };
  report(summary, names, listing, opts.onNote);

  const result: PreparedData = { spec, task, train: normalizePixels(train), test: normalizePixels(test), resize, summary };
  if (validation) result.validation = normalizePixels(validation);
  return result;
}

/** The findings a user should see before training starts. */
function report(s: DataSummary, names: readonly string[], listing: ImageListing, note: ((line: string) => void) | undefined): void {
  if (!note) return;
  const split =
    s.split.test === 'folders'
      ? 'test/ as given'
      : `test = ${Math.round(100 * (s.split.fraction ?? 0))}% of each class, fixed seed ${s.split.seed}`;
  const val = s.split.validation === 'folders' ? ', validation as given' : s.split.validation === 'seeded' ? ', validation from --val-split' : '';
  const sizes = `train ${s.sizes.train}${s.sizes.validation !== undefined ? `, validation ${s.sizes.validation}` : ''}, test ${s.sizes.test}`;
  note(`${s.kind} ${s.path}: ${names.length} classes, ${sizes} (${split}${val}); images fitted to ${s.sampleShape.join('×')} (--resize ${s.resize})`);
  note(`training images per class: ${names.map((n, i) => `${n} ${s.classCounts.train[i]}`).join(', ')}`);
  if (s.imbalance >= IMBALANCE_NOTE_RATIO) {
    note(`class imbalance: the largest class has ${s.imbalance.toFixed(1)}× the images of the smallest; accuracy will flatter the large classes. Consider --class-weight balanced, or more images of the small classes.`);
  }
  if (s.skippedCount > 0) {
    const shown = s.skipped.slice(0, SKIPPED_PRINTED).map((k) => `  ${k.file}: ${k.reason}`);
    const more = s.skippedCount > shown.length ? `\n  … and ${s.skippedCount - shown.length} more (run.json lists up to ${SKIPPED_LISTED} under data.skipped)` : '';
    note(`skipped ${s.skippedCount} file(s) that could not be used:\n${shown.join('\n')}${more}`);
  }
  if (listing.ignored > 0) note(`ignored ${listing.ignored} non-image entr${listing.ignored === 1 ? 'y' : 'ies'} (not ${USER_IMAGE_EXTENSIONS.join(', ')})`);
}
