// graft's public API: named exports only. Anything not listed here is internal.

export { GraftError, isGraftError, type GraftErrorCode } from './errors.js';

// engine
export { initBackend, activeBackend, BACKEND_CHOICES, type BackendChoice, type BackendInfo, type BackendName } from './engine/backend.js';
export { Rng, deriveSeed } from './engine/rng.js';
export { ENGINE_CHOICES, setDefaultEngine, type EngineChoice } from './engine/engine-choice.js';
export { onnxRuntimeStatus } from './engine/onnx/status.js';

// data
export { type Dataset, type PixelRange, sampleSize, take, classCounts, assertDataset } from './data/dataset.js';
export { parseIdx } from './data/idx.js';
export { fashionMnistFromIdx, FASHION_MNIST_CLASSES } from './data/fashion-mnist.js';
export { parseTaskSpec, formatTaskSpec, applyTask, taskClassNames, type TaskSpec } from './data/task.js';
export { parseUserTaskSpec, formatUserTaskSpec, isUserTaskSpec, type UserTaskSpec } from './data/user-task.js';
export { canonicalTaskText } from './data/task-text.js';
export type { DataSummary } from './data/data-summary.js';
export { perClassSubsample } from './data/subsample.js';
export { validationSplit } from './data/split.js';
export { normalizePixels, inferPixelRange, assertUnitRange } from './data/normalize.js';

// models
export { buildMlp, MLP_DEFAULTS, type MlpOptions } from './models/mlp.js';
export { buildSmallCnn, SMALL_CNN_DEFAULTS, type SmallCnnOptions } from './models/small-cnn.js';
export { buildArchitecture, ARCHITECTURES, type ArchitectureName } from './models/architectures.js';
export { buildVgg16, type Vgg16Options } from './models/vgg16.js';
export { buildMobileNetV2, MOBILENETV2_ALPHAS, type MobileNetV2Options, type MobileNetV2Alpha } from './models/mobilenetv2.js';
export { parseBackbone, formatBackbone, buildBackboneBase, withPreprocessing, BACKBONES, BACKBONE_PREPROCESSING, type BackboneSpec, type BackboneName } from './models/backbones.js';
export { zooEntry, type ZooEntry } from './models/zoo.js';
export { applyPreprocess, isPreprocessLayer, type Preprocessing } from './models/preprocess.js';
export { parseInputPreprocess, applyInputPreprocess, describeInputPreprocess, PREPROCESS_NAMES, type InputPreprocess } from './models/input-preprocess.js';
export { OnnxBlock, isOnnxBlock, type OnnxBlockSpec } from './models/onnx-block/layer.js';
export type { OutputSpec, OutputActivation } from './models/output.js';

// io
export { loadFashionMnist, locateFashionMnist } from './io/dataset-files.js';
export { loadCifar10, type Cifar10Options, type Cifar10Split } from './io/cifar10-files.js';
export { loadImageFolder, type ImageFolderOptions } from './io/image-folder.js';
export { decodeImage } from './io/image-decode.js';
export { decodeCacheDir } from './io/decode-cache.js';
export { parseCifar10Batches } from './data/cifar-binary.js';
export { toRgb, fitImage, RESIZE_MODES, type ResizeMode } from './data/image-convert.js';
export { fitDataset, type ImageFit } from './data/fit-dataset.js';
export { makeAugmenter, type AugmentOptions } from './data/augment.js';
export { fetchZooWeights, loadBackboneWeights, copyWeightsByName, weightsCacheDir, type ZooFetchOptions } from './io/backbone-weights.js';
export { loadModel, saveRun, readRunInfo, type LoadedModel, type RunInfo, type PhaseRecord } from './io/run-dir.js';
export { toTfjsFiles, loadTfjsModel } from './io/tfjs-format.js';
export { loadKerasModel, loadKerasWeights, type KerasModel } from './io/keras/load.js';
export { toKerasArchive } from './io/keras/export.js';
export { exportModel } from './io/export-model.js';
export { toOnnxBytes } from './io/export-onnx.js';
export { exportOnnx } from './io/export-onnx-file.js';
export { readOnnxModel, decodeOnnxModel } from './io/onnx/read.js';
export { loadOnnxSource, importOnnxSource, type OnnxSource, type OnnxSourceInfo, type OnnxSourceOptions } from './io/onnx/source.js';
export { isHubSpec, parseHubSpec, resolveHubModel, type HubSpec, type HubModel, type HubResolveOptions } from './io/hub/index.js';
export { describeModel, summary, type ModelSummary, type LayerSummary, type SummaryOptions } from './models/summary.js';

// transfer
export { transfer, cloneModel, type TransferOptions, type TransferredModel, type HeadOptions } from './transfer/transfer.js';
export { fineTune, FINE_TUNE_DEFAULTS, FEATURE_CACHE_LIMIT_BYTES, type FineTuneOptions, type PhaseOptions, type UnfrozenPhaseOptions, type PhaseResult, type FineTuneCheckpoint } from './transfer/fine-tune.js';
export { FeatureCache, findSplit, type SplitPoint, type FeatureEngine } from './transfer/feature-cache.js';
export { layerGroups, discriminativeScale } from './transfer/layer-groups.js';
export { applyFreeze, applyUnfreeze, parseFreezePolicy, parseUnfreezePolicy, type FreezePolicy, type UnfreezePolicy } from './transfer/freeze.js';
export type { LayerRef } from './transfer/layer-ref.js';

// train
export { fit, FIT_DEFAULTS, type FitOptions } from './train/fit.js';
export { parseClassWeight, resolveClassWeights, type ClassWeight } from './train/class-weight.js';
export type { FitCheckpoint, OptimizerState, EarlyStoppingState } from './train/checkpoint.js';
export { OPTIMIZER_DEFAULTS, OPTIMIZER_NAMES, type OptimizerSpec, type OptimizerName } from './train/optimizer.js';
export { SCHEDULE_FORMS, parseSchedule, type ScheduleSpec, type ScheduleOption, type ScheduleKind } from './train/schedule.js';
export { EARLY_STOPPING_DEFAULTS, type EarlyStoppingOptions } from './train/early-stopping.js';
export type { EpochRecord, FitResult, TrainCallbacks, BatchProgress } from './train/types.js';
export type { EngineUse } from './train/stepper.js';
export { jsonlLogger } from './train/jsonl-log.js';

// evaluate
export { evaluate, type Evaluation } from './evaluate/evaluate.js';
export { confusionMatrix, perClassMetrics, type ClassMetrics } from './evaluate/metrics.js';
export { confidenceInterval, pairedDifference, verdict, tQuantile, type Interval, type Verdict } from './evaluate/stats.js';
export type { CompareResult, CompareRow, Trial, TrainSize } from './evaluate/compare-result.js';

// workflows
export { prepareTask, type DataOptions, type PreparedData } from './workflows/prepare.js';
export { trainModel, TRAIN_DEFAULTS, type TrainModelOptions, type TrainedModel } from './workflows/train-model.js';
export { transferModel, type TransferModelOptions, type TransferResult } from './workflows/transfer-model.js';
export { RECIPES, RECIPE_NAMES, RECIPE_FOR_PRETRAINED_IMAGES, resolveRecipe, type Recipe, type RecipeName, type RecipeChoice, type RecipeSettings, type RecipeRecord } from './transfer/recipes.js';
export { loadOnnxTransferSource, isOnnxSource, type ResolvedOnnxSource, type OnnxTransferSourceOptions } from './workflows/onnx-source.js';
export { runSeed, SEED_RECIPE, type SeedOptions, type SeedResult } from './workflows/seed.js';
export { TrainingInterrupted, readRunCheckpoint, type RunCheckpoint, type Invocation } from './workflows/checkpoint.js';
export { TrainingDiverged } from './workflows/diverged.js';
export { writeCheckpoint, readCheckpoint, readCheckpointHeader, hasCheckpoint, CHECKPOINT_FILE, type CheckpointHeader } from './io/checkpoint-dir.js';
export { runSeedCnn, SEED_CNN_RECIPE, type SeedCnnOptions, type SeedCnnResult, type SeedCnnModel } from './workflows/seed-cnn.js';
export { loadBackbone, type BackboneOptions, type LoadedBackbone } from './workflows/backbone.js';
export { predictFiles, predictPreprocessing, modelImageInput, type Prediction, type PredictOptions, type PredictOutcome, type PredictPreprocessing } from './workflows/predict.js';
export { predict, type PixelImage, type ArrayPredictOptions, type ArrayPrediction } from './workflows/predict-arrays.js';
export { lrFind, type LrFindOptions, type LrFindResult } from './workflows/lr-find.js';
export { LR_FIND_DEFAULTS, suggestRates, type LrSuggestion } from './workflows/lr-find-curve.js';
export { lrFindRun, type LrFindRunOptions, type LrFindRunResult } from './workflows/lr-find-run.js';
export { compare, COMPARE_DEFAULTS, type CompareOptions } from './workflows/compare.js';
export { compareParallel, defaultWorkers } from './workflows/compare-parallel.js';
export { sweep, gridOf, SWEEP_DEFAULTS, type SweepOptions, type SweepSpace, type SweepResult, type SweepConfig, type SweepTrial } from './workflows/sweep.js';
export { layerTransferability, LAYERS_DEFAULTS, type LayersOptions, type LayersResult, type LayersPoint, type LayersArm } from './workflows/layers.js';
export { reinitialize } from './models/reinit.js';
export { loadExperiment } from './workflows/config/load.js';
export { EXPERIMENT_SCHEMA, type Experiment } from './workflows/config/schema.js';
export { runExperiment, type ExperimentSummary } from './workflows/run-experiment.js';
export { renderReport } from './report/render.js';
export { loadReportInput } from './report/load.js';
export type { ReportInput } from './report/input.js';
export { disposeModel } from './models/dispose.js';

export { GRAFT_VERSION } from './version.js';
