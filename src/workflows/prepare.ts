import { GraftError } from '../errors.js';
import { deriveSeed } from '../engine/rng.js';
import type { Dataset } from '../data/dataset.js';
import { normalizePixels } from '../data/normalize.js';
import { fitDataset, type ImageFit } from '../data/fit-dataset.js';
import { perClassSubsample } from '../data/subsample.js';
import { validationSplit } from '../data/split.js';
import { applyTask, CIFAR10_CLASSES, formatTaskSpec, parseTaskSpec, type TaskSpec } from '../data/task.js';
import { loadFashionMnist } from '../io/dataset-files.js';
import { loadCifar10 } from '../io/cifar10-files.js';
import type { ResizeMode } from '../data/image-convert.js';
import type { DataSummary } from '../data/data-summary.js';
import { isUserTaskSpec, parseUserTaskSpec, type UserTaskSpec } from '../data/user-task.js';
import { prepareUserTask } from './prepare-user.js';

export interface DataOptions {
  /** Folder with the dataset files; else GRAFT_DATA_DIR, graft's cache, Debian's package, download. */
  dataDir?: string;
  /** Keep this many training images per class (seeded), for the small-data regime. Default: all. */
  perClass?: number;
  /** Fraction of the training set held out for validation (stratified, seeded). Default: none. */
  valSplit?: number;
  /** Seeds subsampling and the split. Default 0. */
  seed?: number;
  /** Resize and convert every image (after scaling to [0, 1]), e.g. CIFAR's 32×32 to a backbone's 64×64×3. Default: as stored. */
  image?: ImageFit;
  /** Allow downloading the dataset when no local copy exists. Default true. */
  download?: boolean;
  onDownloadProgress?: (received: number, total: number | undefined) => void;
  /** folder:/csv: tasks: how images of another aspect ratio are fitted (see ResizeMode). Default 'crop'. */
  resize?: ResizeMode;
  /**
   * folder:/csv: tasks: the input shape of the model the data will feed ([null, h, w, c] or
   * [null, h, w]); every image is fitted to it. Default: `image`, else USER_IMAGE_DEFAULT_SIDE².
   */
  modelInput?: readonly (number | null)[];
  /** folder:/csv: tasks: one line per finding (sizes, split, class imbalance, skipped files), e.g. for stderr. */
  onNote?: (line: string) => void;
  /** folder:/csv: tasks: use graft's decode cache (decode-cache.ts). Default true. */
  decodeCache?: boolean;
  /** folder:/csv: tasks: the decode cache's folder. Default decodeCacheDir(). */
  cacheDir?: string;
  /**
   * folder:/csv: tasks: keep the decoded images on disk (in the decode cache) and read them a batch
   * at a time, instead of in memory. Default: when the set would take more than
   * STREAM_ABOVE_BYTES as float32 and the decode cache is on.
   */
  stream?: boolean;
}

export interface PreparedData {
  spec: TaskSpec | UserTaskSpec;
  /** Canonical task spec text. */
  task: string;
  train: Dataset;
  validation?: Dataset;
  test: Dataset;
  /** How images were fitted to the sample shape (folder:/csv: tasks, and built-in images resized with `image`). */
  resize?: ResizeMode;
  /** folder:/csv: tasks: split, counts and skipped files (run.json's `data`). */
  summary?: DataSummary;
}

const cache = new Map<string, Promise<Dataset>>();

/** Loads a dataset split once per process; the seed workflow reads Fashion-MNIST for three models. */
function loadSplit(spec: TaskSpec, split: 'train' | 'test', opts: DataOptions): Promise<Dataset> {
  const { dataset } = spec;
  if (dataset !== 'fashion-mnist' && dataset !== 'cifar10') {
    throw new GraftError('BAD_TASK_SPEC', `Dataset ${JSON.stringify(dataset)} has no loader in this version of graft; fashion-mnist and cifar10 are available.`);
  }
  // From an image tree, decode only the classes the task uses (cats vs dogs needs 2 of 10 folders).
  const classes = dataset === 'cifar10' ? spec.classes.map((i) => CIFAR10_CLASSES[i]!.slug).sort() : [];
  const key = `${dataset}|${split}|${opts.dataDir ?? ''}|${classes.join(',')}`;
  const cached = cache.get(key);
  if (cached) return cached;
  {
    const loadOpts: Parameters<typeof loadFashionMnist>[1] = {};
    if (opts.dataDir !== undefined) loadOpts.dataDir = opts.dataDir;
    if (opts.download !== undefined) loadOpts.download = opts.download;
    if (opts.onDownloadProgress) loadOpts.onProgress = opts.onDownloadProgress;
    // CIFAR-10 is never downloaded: it comes from --data-dir / GRAFT_DATA_DIR (binary batches or JPEG folders).
    const p = dataset === 'cifar10' ? loadCifar10(split, { classes, ...(opts.dataDir !== undefined && { dataDir: opts.dataDir }) }) : loadFashionMnist(split, loadOpts);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
    return p;
  }
}

/**
 * The test set alone, normalised as prepareTask does it (graft evaluate): for the built-in datasets
 * only the test files are read, so a --data-dir holding just those is enough.
 */
export async function prepareTestSet(taskText: string, opts: DataOptions = {}): Promise<{ task: string; test: Dataset }> {
  if (isUserTaskSpec(taskText)) {
    const { task, test } = await prepareTask(taskText, opts);
    return { task, test };
  }
  const spec = parseTaskSpec(taskText);
  const test = normalizePixels(applyTask(await loadSplit(spec, 'test', opts), spec));
  return { task: formatTaskSpec(spec), test: opts.image ? fitDataset(test, opts.image) : test };
}

/**
 * Task spec text → normalised train / validation / test sets. Pixels are scaled exactly once here;
 * validation is carved from the training set only; the test set is never subsampled or split.
 */
export async function prepareTask(taskText: string, opts: DataOptions = {}): Promise<PreparedData> {
  if (isUserTaskSpec(taskText)) return prepareUserTask(parseUserTaskSpec(taskText), opts);
  const spec = parseTaskSpec(taskText);
  const seed = opts.seed ?? 0;
  const [trainAll, testAll] = await Promise.all([loadSplit(spec, 'train', opts), loadSplit(spec, 'test', opts)]);
  let train = applyTask(trainAll, spec);
  if (opts.perClass !== undefined) train = perClassSubsample(train, opts.perClass, deriveSeed(seed, 'per-class'));
  let validation: Dataset | undefined;
  if (opts.valSplit !== undefined && opts.valSplit > 0) {
    const split = validationSplit(train, opts.valSplit, deriveSeed(seed, 'val-split'));
    train = split.train;
    validation = normalizePixels(split.validation);
  }
  const fit = (ds: Dataset): Dataset => (opts.image ? fitDataset(ds, opts.image) : ds);
  if (validation) validation = fit(validation);
  const result: PreparedData = { spec, task: formatTaskSpec(spec), train: fit(normalizePixels(train)), test: fit(normalizePixels(applyTask(testAll, spec))) };
  if (validation) result.validation = validation;
  if (opts.image) result.resize = 'squash'; // fitDataset's resize
  return result;
}
