import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError, type GraftErrorCode } from '../errors.js';
import { isGzip, maybeGunzip, parseIdx, IDX_MAX_BYTES } from '../data/idx.js';
import type { RawImage } from '../data/image.js';
import { fitImage, type ResizeMode } from '../data/image-convert.js';
import { isUserTaskSpec } from '../data/user-task.js';
import { describeFileKind, FILE_KIND_PROBE_BYTES } from '../io/file-kind.js';
import { decodeImage } from '../io/image-decode.js';
import { readFileHead, resolvePredictInputs, type InputFile } from '../io/predict-inputs.js';
import { READ_LIMITS, readRegularFile } from '../io/regular-file.js';
import type { RunInfo } from '../io/run-dir.js';
import { isPreprocessLayer } from '../models/preprocess.js';
import type { EngineChoice } from '../engine/engine-choice.js';
import { probabilityRunner, type InferenceEngine } from '../train/infer-engine.js';
import { describeOutput } from '../train/loss.js';

/**
 * `graft predict` on images, IDX files, folders and patterns, for grayscale and RGB models. Each
 * image is decoded, converted to the model's channels, fitted to its input size and scaled as the
 * run was trained; images go through the model in chunks, so a folder of 10,000 photos never
 * holds more than one chunk of decoded pixels. One unreadable input is reported in its own entry.
 */

/** Images fitted and predicted together; only this many are held decoded at once. */
export const PREDICT_CHUNK = 64;

/** The image a model takes: [height, width, channels]; a flat n×n input is an n×n grey image. */
export interface ModelImageInput {
  height: number;
  width: number;
  channels: 1 | 3;
}

export function modelImageInput(model: tfl.LayersModel): ModelImageInput {
  const input = model.inputs[0]!.shape.slice(1);
  const side = input.length === 1 && typeof input[0] === 'number' ? Math.round(Math.sqrt(input[0])) : 0;
  const image = side > 0 && side * side === input[0] ? [side, side] : input;
  const shown = `[${input.map((d) => d ?? '?').join(', ')}]`;
  if ((image.length !== 2 && image.length !== 3) || image.some((d) => d === null)) {
    throw new GraftError('SHAPE_MISMATCH', `graft predict needs a model with a fixed image input ([height, width] or [height, width, channels]); this one takes ${shown}. Predict with a model trained on images of one size.`);
  }
  const channels = image.length === 3 ? (image[2] as number) : 1;
  if (channels !== 1 && channels !== 3) {
    throw new GraftError('SHAPE_MISMATCH', `graft predict feeds grey (1 channel) or RGB (3 channel) images; this model takes ${shown}, ${channels} channels. Use a model with a 1- or 3-channel input.`);
  }
  return { height: image[0] as number, width: image[1] as number, channels };
}

/** How pixels become model input, and where that was decided. */
export interface PredictPreprocessing {
  /** Multiplies the 0..255 pixels. */
  pixelScale: number;
  resize: ResizeMode;
  /**
   * Round fitted pixels to whole 0..255 values before scaling: what a run trained on a folder:/csv:
   * task saw (graft's decode cache stores fitted images as bytes). Default false.
   */
  quantize?: boolean;
  /** Said in messages: "run.json", "a Rescaling layer", "graft's default for model files". */
  source: string;
}

/** Resize mode for a model file without run.json (as Keras's image_dataset_from_directory with crop_to_aspect_ratio). */
export const MODEL_FILE_RESIZE: ResizeMode = 'crop';

/** The first layer that computes something, looking into a nested model (a backbone) at the front. */
function firstLayer(model: tfl.LayersModel): tfl.layers.Layer | undefined {
  const layer = model.layers.find((l) => l.getClassName() !== 'InputLayer');
  if (layer && 'layers' in layer && Array.isArray((layer as tfl.LayersModel).layers)) return firstLayer(layer as tfl.LayersModel) ?? layer;
  return layer;
}

/**
 * The run's own preprocessing: run.json's pixel scale and resize mode (absent: 'squash', what runs
 * before the field used). A model without run.json takes pixels in [0, 1] (graft's convention: its
 * own preprocess layers, models/preprocess.ts, expect that) unless its first layer is some other
 * Rescaling layer, which then does the scaling from 0..255 itself; it is fitted by MODEL_FILE_RESIZE.
 * `resize` overrides the mode.
 */
export function predictPreprocessing(model: tfl.LayersModel, run: RunInfo | undefined, resize?: ResizeMode): PredictPreprocessing {
  if (run) return { pixelScale: run.preprocessing.pixelScale, resize: resize ?? run.preprocessing.resize ?? 'squash', quantize: isUserTaskSpec(run.task), source: 'run.json' };
  const first = firstLayer(model);
  const rescales = first !== undefined && first.getClassName() === 'Rescaling' && !isPreprocessLayer(first);
  return rescales
    ? { pixelScale: 1, resize: resize ?? MODEL_FILE_RESIZE, source: `its first layer, Rescaling ${first.name}, which takes 0..255 pixels` }
    : { pixelScale: 1 / 255, resize: resize ?? MODEL_FILE_RESIZE, source: "graft's default for a model without run.json (pixels in [0, 1])" };
}

export interface ClassProbability {
  class: string;
  probability: number;
}

/** One input's outcome: an image, or one image of an IDX file (`index`). */
export interface Prediction {
  file: string;
  /** The image's index in an IDX file. */
  index?: number;
  /** The top classes, most probable first. */
  predictions?: ClassProbability[];
  /** Every class's probability, in class order. */
  probabilities?: number[];
  /** Why this input has no prediction. */
  error?: { code: GraftErrorCode; message: string };
}

export interface PredictOptions {
  /** Class names in output order. Default "class 0", "class 1", … */
  classNames?: readonly string[];
  /** Multiplies 0..255 pixels. Default 1/255. */
  pixelScale?: number;
  /** How an image of another shape is fitted. Default 'crop'. */
  resize?: ResizeMode;
  /** Round fitted pixels to whole 0..255 values before scaling (see PredictPreprocessing). Default false. */
  quantize?: boolean;
  /** Classes listed per input, most probable first. Default min(3, classes); more than the classes gives all. */
  top?: number;
  /** Images per model call. Default PREDICT_CHUNK. */
  chunk?: number;
  /** Called after each model call with the number of images it predicted. */
  onChunk?: (images: number) => void;
  /** Called after each file with the files done and the files found (folders and patterns expanded). */
  onProgress?: (done: number, total: number) => void;
  /** Where the model runs: onnxruntime where it translates (the default, or GRAFT_ENGINE), else TF.js; 'tfjs' always TF.js. */
  engine?: EngineChoice;
}

export interface PredictOutcome {
  /** In input order; a folder's images sorted by path. */
  results: Prediction[];
  /** Files in folders that hold neither an image nor IDX data and are not named like images (README, .DS_Store). */
  skipped: string[];
  classNames: string[];
  input: ModelImageInput;
  /** Where the model ran: onnxruntime, or TF.js and why. */
  engine: InferenceEngine;
}

/** Names a file in a folder that was meant as an image: its content decides the format, its name only whether it was meant. */
const IMAGE_NAME = /\.(png|jpe?g|jpe|jfif|webp|bmp|dib|gif)$/i;

const WANTED = 'an image (PNG, JPEG, WebP, BMP, GIF) or an IDX images file';
/** A user's IDX file is theirs: no advice to delete it, as for graft's own downloads. */
const IDX_FIX = 'The file is damaged or was cut short; pass an intact IDX images file (raw or .gz).';

function toEntryError(file: string, e: unknown): Prediction['error'] {
  if (e instanceof GraftError) return { code: e.code, message: e.message };
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code === 'string') return { code: 'DATA_NOT_FOUND', message: `Cannot read ${file} (${code}). Check the path and its permissions.` };
  throw e; // a bug, not a bad file: let it surface
}

function topClasses(p: Float32Array, names: readonly string[], k: number): ClassProbability[] {
  const order = Array.from(p.keys()).sort((a, b) => p[b]! - p[a]! || a - b);
  return order.slice(0, k).map((i) => ({ class: names[i] ?? `class ${i}`, probability: p[i]! }));
}

/** Fits images as the run was trained and predicts them in chunks: the one path files and arrays take. */
export interface ImageFeeder {
  input: ModelImageInput;
  classNames: string[];
  /** Fits `img` and queues it; `entry` receives its predictions when its chunk runs. */
  add(entry: Prediction, img: RawImage): Promise<void>;
  /** Predicts what is queued. */
  flush(): Promise<void>;
  /** Where the chunks ran. */
  engine(): InferenceEngine;
  /** Frees the onnxruntime session the chunks ran on (after the last flush). */
  release(): Promise<void>;
}

export function imageFeeder(model: tfl.LayersModel, opts: PredictOptions, results: Prediction[]): ImageFeeder {
  const head = describeOutput(model);
  const input = modelImageInput(model);
  const { height: h, width: w, channels } = input;
  const size = h * w * channels;
  const scale = opts.pixelScale ?? 1 / 255;
  const resize = opts.resize ?? MODEL_FILE_RESIZE;
  const classNames = Array.from({ length: head.classes }, (_, i) => opts.classNames?.[i] ?? `class ${i}`);
  const top = Math.min(opts.top ?? 3, head.classes);
  const chunk = Math.max(1, opts.chunk ?? PREDICT_CHUNK);
  const x = new Float32Array(chunk * size);
  // One session for every chunk: the weights do not change while predicting.
  const runner = probabilityRunner(model, head, opts.engine);
  let pending: Prediction[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const probs = await runner.run(x, pending.length, [h, w, channels], pending[0]!.file);
    pending.forEach((entry, i) => {
      const p = probs.subarray(i * head.classes, (i + 1) * head.classes);
      entry.predictions = topClasses(p, classNames, top);
      entry.probabilities = Array.from(p);
    });
    opts.onChunk?.(pending.length);
    pending = [];
  };
  const add = async (entry: Prediction, img: RawImage): Promise<void> => {
    const fitted = fitImage(img, w, h, channels, resize).data;
    const at = pending.length * size;
    if (opts.quantize) {
      for (let j = 0; j < size; j++) x[at + j] = Math.min(255, Math.max(0, Math.round(fitted[j]!))) * scale;
    } else for (let j = 0; j < size; j++) x[at + j] = fitted[j]! * scale;
    results.push(entry);
    pending.push(entry);
    if (pending.length === chunk) await flush();
  };
  return { input, classNames, add, flush, engine: () => runner.engine(), release: () => runner.release() };
}

/** Predicts the images that `inputs` (files, folders, patterns) name. Errors of one input go into its entry. */
export async function predictFiles(model: tfl.LayersModel, inputs: readonly string[], opts: PredictOptions = {}): Promise<PredictOutcome> {
  const results: Prediction[] = [];
  const skipped: string[] = [];
  const feeder = imageFeeder(model, opts, results);
  try {
    await feedFiles(inputs, opts, feeder, results, skipped);
  } finally {
    await feeder.release();
  }
  return { results, skipped, classNames: feeder.classNames, input: feeder.input, engine: feeder.engine() };
}

/** Resolves `inputs` and feeds every image they hold to the feeder, in order; flushes at the end. */
async function feedFiles(inputs: readonly string[], opts: PredictOptions, feeder: ImageFeeder, results: Prediction[], skipped: string[]): Promise<void> {
  // A folder whose every file was skipped is itself reported, in its place, so nothing passes unseen.
  let group: { from: string; used: number; files: number; example?: string } | undefined;
  const closeGroup = (): void => {
    if (!group || group.used > 0) return;
    const what = group.files === 1 ? 'only file is neither an image nor an IDX file' : `${group.files} files are neither images nor IDX files`;
    results.push({ file: group.from, error: { code: 'DATA_NOT_FOUND', message: `${group.from} holds no images: its ${what} (e.g. ${group.example}). Pass a folder of PNG, JPEG, WebP, BMP or GIF images.` } });
  };
  const items = await resolvePredictInputs(inputs);
  let done = 0;
  for (const item of items) {
    if (done > 0) opts.onProgress?.(done, items.length);
    done++;
    if (group?.from !== item.from) {
      closeGroup();
      group = { from: item.from, used: 0, files: 0 };
    }
    if ('error' in item) {
      results.push({ file: item.file, error: { code: item.error.code, message: item.error.message } });
      group.used++;
      continue;
    }
    group.files++;
    try {
      if ((await predictOne(item, feeder.add)) === 'skipped') {
        skipped.push(item.file);
        group.example ??= item.file;
      } else group.used++;
    } catch (e) {
      results.push({ file: item.file, error: toEntryError(item.file, e)! });
      group.used++;
    }
  }
  closeGroup();
  await feeder.flush();
  opts.onProgress?.(done, items.length);
}

/** The first bytes `head` (a gzip file's start) decompress to; undefined when they are not valid gzip data. */
function gunzipHead(head: Uint8Array): Uint8Array | undefined {
  try {
    // A partial stream: Z_SYNC_FLUSH returns what the bytes so far give instead of failing on the missing end.
    return gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: 1 << 20 }).subarray(0, FILE_KIND_PROBE_BYTES);
  } catch {
    return undefined;
  }
}

/** Reads one file and feeds its image(s) to `add`; 'skipped' for a folder's non-image file. */
async function predictOne(item: InputFile, add: (entry: Prediction, img: RawImage) => Promise<void>): Promise<'done' | 'skipped'> {
  const { file } = item;
  const readOpts = { expected: WANTED, code: 'DATA_NOT_FOUND' as const };
  let head: Uint8Array;
  try {
    head = await readFileHead(file, FILE_KIND_PROBE_BYTES, { ...readOpts, maxBytes: READ_LIMITS.dataset });
  } catch (e) {
    // A FIFO or device among a folder's files is skipped like any non-image, unless named as an image.
    if (item.listed && !IMAGE_NAME.test(file) && e instanceof GraftError) return 'skipped';
    throw e;
  }
  const kind = describeFileKind(head);
  if (kind.endsWith(' image')) {
    const bytes = await readRegularFile(file, { ...readOpts, maxBytes: READ_LIMITS.image });
    await add({ file }, decodeImage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file));
    return 'done';
  }
  // A gzip file is judged by its first decompressed bytes, so a big .tar.gz in a folder is never read whole.
  const unzipped = isGzip(head) ? gunzipHead(head) : head;
  const inner = unzipped ? describeFileKind(unzipped) : 'damaged data that cannot be decompressed';
  if (inner.startsWith('an IDX file')) {
    const bytes = await readRegularFile(file, { ...readOpts, maxBytes: READ_LIMITS.dataset });
    const raw = maybeGunzip(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file, IDX_MAX_BYTES, IDX_FIX);
    const { dims, data } = parseIdx(raw, file, IDX_FIX);
    if (dims.length !== 3) {
      throw new GraftError('BAD_ARGUMENT', `${file} is an IDX file of shape [${dims.join(', ')}]; predict needs images, [count, height, width] (a labels file has one dimension). Pass an images IDX file.`);
    }
    const [n, ih, iw] = dims as [number, number, number];
    for (let i = 0; i < n; i++) await add({ file, index: i }, { width: iw, height: ih, channels: 1, data: data.subarray(i * ih * iw, (i + 1) * ih * iw) });
    return 'done';
  }
  if (item.listed && !IMAGE_NAME.test(file)) return 'skipped';
  if (isGzip(head)) throw new GraftError('BAD_ARGUMENT', `${file} is a gzip-compressed file holding ${inner}, not IDX image data. Pass ${WANTED}.`);
  throw new GraftError('BAD_ARGUMENT', `${file} is ${kind}, not an image or an IDX file; graft predict reads images (PNG, JPEG, WebP, BMP, GIF, told apart by their content, not their name) and IDX image files (raw or .gz). Pass one of those.`);
}
