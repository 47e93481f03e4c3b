// graft's browser entry (`graft-learn/browser`): the library core for web pages. Named exports only.
//
// Everything here works on data and models held in memory: no files, no network, no process.
// Model files and image zips a user drops on a page come in as bytes: Keras .keras/.h5 (h5wasm's
// build embeds its .wasm), ONNX without external data, zips of class folders.
// Three Node modules have browser stand-ins that package.json's `browser` field swaps in for
// bundlers: engine/onnx/runtime.ts (onnxruntime-node → onnxruntime-web's wasm build, so graft's
// training compiler and feature extraction run in the page; TF.js with the reason when its files are
// not served), version.ts (Node reads package.json at run time) and platform/yield.ts. TF.js runs on
// its cpu backend, or wasm when its .wasm files are served (initBrowserBackend, which also says where
// onnxruntime-web's files are and how many threads it may use: 1 unless cross-origin isolated).
// test/browser/bundle.test.ts fails if anything exported here reaches a Node built-in.

export { GraftError, isGraftError, type GraftErrorCode } from './errors.js';

// engine
export { initBrowserBackend, BROWSER_BACKENDS, type BrowserBackendName, type BrowserBackendOptions, type BrowserBackendInfo } from './platform/browser/backend.js';
export { Rng, deriveSeed } from './engine/rng.js';
export { ENGINE_CHOICES, type EngineChoice } from './engine/engine-choice.js';
export { setDefaultEngine } from './engine/onnx/runtime.js';

// data: datasets from in-memory arrays
export { type Dataset, type PixelRange, sampleSize, take, classCounts, assertDataset } from './data/dataset.js';
export { perClassSubsample } from './data/subsample.js';
export { validationSplit } from './data/split.js';
export { normalizePixels, inferPixelRange, assertUnitRange } from './data/normalize.js';
export { toRgb, fitImage, RESIZE_MODES, type ResizeMode } from './data/image-convert.js';
export type { RawImage } from './data/image.js';
export { fitDataset, type ImageFit } from './data/fit-dataset.js';
export { makeAugmenter, type AugmentOptions } from './data/augment.js';

// models
export { buildMlp, MLP_DEFAULTS, type MlpOptions } from './models/mlp.js';
export { buildSmallCnn, SMALL_CNN_DEFAULTS, type SmallCnnOptions } from './models/small-cnn.js';
export { buildArchitecture, ARCHITECTURES, type ArchitectureName } from './models/architectures.js';
export { buildVgg16, type Vgg16Options } from './models/vgg16.js';
export { buildMobileNetV2, MOBILENETV2_ALPHAS, type MobileNetV2Options, type MobileNetV2Alpha } from './models/mobilenetv2.js';
export { parseBackbone, formatBackbone, buildBackboneBase, withPreprocessing, BACKBONES, BACKBONE_PREPROCESSING, type BackboneSpec, type BackboneName } from './models/backbones.js';
export { applyPreprocess, isPreprocessLayer, type Preprocessing } from './models/preprocess.js';
export { describeModel, summary, type ModelSummary, type LayerSummary, type SummaryOptions } from './models/summary.js';
export { reinitialize } from './models/reinit.js';
export { disposeModel } from './models/dispose.js';
export type { OutputSpec, OutputActivation } from './models/output.js';

// model bytes: in and out without a file system
export { loadTfjsModelFromFiles } from './platform/browser/model-files.js';
export { toTfjsFiles, type TfjsModelFiles } from './io/tfjs-files.js';
export { toKerasArchive } from './io/keras/export.js';
export { toOnnxBytes } from './io/export-onnx.js';
export { copyWeightsByName } from './io/copy-weights.js';
export { loadKerasModelFromBytes, loadKerasWeightsFromBytes, type KerasModel } from './io/keras/load-bytes.js';
export { loadOnnxSourceFromBytes } from './io/onnx/source-bytes.js';
export type { OnnxSource, OnnxSourceOptions, OnnxSourceInfo } from './io/onnx/import-source.js';

// data bytes: a zip of image folders, as a page receives it
export { readImageZip, IMAGE_ZIP_LIMITS, type ImageZip, type ImageZipFile } from './io/image-zip.js';
export { IMAGE_EXTENSIONS } from './io/image-extensions.js';

// transfer
export { transfer, cloneModel, type TransferOptions, type TransferredModel, type HeadOptions } from './transfer/transfer.js';
export { fineTune, FINE_TUNE_DEFAULTS, type FineTuneOptions, type PhaseOptions, type UnfrozenPhaseOptions, type PhaseResult } from './transfer/fine-tune.js';
export { layerGroups, discriminativeScale } from './transfer/layer-groups.js';
export { applyFreeze, applyUnfreeze, parseFreezePolicy, parseUnfreezePolicy, type FreezePolicy, type UnfreezePolicy } from './transfer/freeze.js';
export type { LayerRef } from './transfer/layer-ref.js';

// train
export { fit, FIT_DEFAULTS, type FitOptions } from './train/fit.js';
export { parseClassWeight, resolveClassWeights, type ClassWeight } from './train/class-weight.js';
export { OPTIMIZER_DEFAULTS, OPTIMIZER_NAMES, type OptimizerSpec, type OptimizerName } from './train/optimizer.js';
export { SCHEDULE_FORMS, parseSchedule, type ScheduleSpec, type ScheduleOption, type ScheduleKind } from './train/schedule.js';
export { EARLY_STOPPING_DEFAULTS, type EarlyStoppingOptions } from './train/early-stopping.js';
export type { EpochRecord, FitResult, TrainCallbacks, BatchProgress } from './train/types.js';
export type { EngineUse } from './train/stepper.js';

// evaluate and predict
export { evaluate, type Evaluation } from './evaluate/evaluate.js';
export { confusionMatrix, perClassMetrics, type ClassMetrics } from './evaluate/metrics.js';
export { confidenceInterval, pairedDifference, verdict, tQuantile, type Interval, type Verdict } from './evaluate/stats.js';
export { predictArrays } from './platform/browser/predict-arrays.js';

export { GRAFT_VERSION } from './version.js';
