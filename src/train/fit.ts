import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import { Rng, deriveSeed } from '../engine/rng.js';
import { type Dataset, sampleSize } from '../data/dataset.js';
import { gatherLabels } from '../data/batch.js';
import { gatherSamples } from '../data/rows.js';
import { assertUnitRange } from '../data/normalize.js';
import { flatLayers } from './forward.js';
import { lossAndAccuracy } from './infer.js';
import { lossAndAccuracyOn } from './infer-engine.js';
import { modelSampleShape } from './input-shape.js';
import { checkFromLogits, checkLabels, describeOutput } from './loss.js';
import { resolveOptimizer, describeOptimizer, type OptimizerSpec } from './optimizer.js';
import { checkScheduleFits, resolveSchedule, scheduledRate, type ScheduleOption } from './schedule.js';
import type { LearningRateScale } from './param-groups.js';
import type { EngineChoice } from '../engine/engine-choice.js';
import { chooseStepper } from './onnx/select.js';
import { resolveBatchNorm, type BatchNormMode } from './batchnorm-mode.js';
import type { EpochRecord, FitResult, TrainCallbacks } from './types.js';
import { EarlyStopping, type EarlyStoppingOptions } from './early-stopping.js';
import { chanceLoss, divergedEpoch, divergenceYardstick, explodedLoss, suggestLearningRate } from './divergence.js';
import { WeightSnapshot } from './snapshot.js';
import { checkWeights, readWeights, writeWeights, type FitCheckpoint } from './checkpoint.js';
import { classWeightRecord, describeClassWeights, formatClassWeight, resolveClassWeights, type ClassWeight } from './class-weight.js';
import { checkLabelSmoothing } from './loss.js';
import { KeepBest, type KeepBestOptions } from './callbacks/keep-best.js';
import { ReduceOnPlateau, type ReduceOnPlateauOptions } from './callbacks/reduce-on-plateau.js';
import { monitorValue } from './callbacks/monitor.js';
import { scoreMetrics } from '../evaluate/metrics.js';
import { yieldToEventLoop } from '../platform/yield.js';

export interface FitOptions {
  /** Passes over the training data. Required. */
  epochs: number;
  /** Samples per gradient step. Default 32. */
  batchSize?: number;
  /** Default sgd, learning rate 0.01, no momentum. */
  optimizer?: OptimizerSpec;
  /**
   * The learning rate over the phase (schedule.ts): 'constant' (default), 'step:EVERY,FACTOR',
   * 'cosine[:FLOOR]', 'one-cycle[:PCT]', each combinable with ',warmup:EPOCHS'; or a ScheduleSpec.
   * The optimizer's rate is its peak; per-layer scales multiply it. Each epoch's record holds the
   * rate of its first step.
   */
  schedule?: ScheduleOption;
  /** Seeds shuffling and dropout masks. Default 0. */
  seed?: number;
  /** Scored after every epoch (inference mode). Carve it from the training set, never the test set. */
  validation?: Dataset;
  /** Stop when validation loss stops improving. Off by default; needs `validation`. */
  earlyStopping?: EarlyStoppingOptions | false;
  /** Leave unset: graft picks the loss from the output layer. Set only to assert what you expect. */
  fromLogits?: boolean;
  /** Label for the history, e.g. "frozen" or "fine-tune". Default "train". */
  phase?: string;
  callbacks?: TrainCallbacks;
  /** Per-layer factor on the learning rate (discriminative rates). Default 1 for every layer. */
  learningRateScale?: LearningRateScale;
  /** Runs before each epoch; may change which layers are trainable (gradual unfreezing). */
  beforeEpoch?: (epoch: number) => void;
  /** Changes each training batch in place before the step (augmentation); seeded by `seed`. */
  augment?: BatchAugmenter;
  /**
   * Read before every batch (an AbortSignal fits): once `aborted` is true, fit stops before the next
   * batch and returns stopReason 'interrupted' with a `checkpoint`. While it is set, fit yields to
   * the event loop after every batch, so signal handlers run promptly. Default: never stops.
   */
  signal?: { readonly aborted: boolean };
  /**
   * Continue an interrupted fit from its `checkpoint`, with the same model (architecture and
   * trainability), data and options: the result equals an uninterrupted fit bit for bit. Without
   * `checkpoint.weights` the model's current weights are taken as they are.
   */
  resumeFrom?: FitCheckpoint;
  /**
   * 'auto' (default, or the GRAFT_ENGINE variable): onnxruntime for models layer-chain.ts accepts when
   * onnxruntime-node is installed, else TF.js. 'tfjs' always uses TF.js; 'onnxruntime' refuses
   * models it cannot train. Both compute the same steps (tested to float32 rounding).
   */
  engine?: EngineChoice;
  /**
   * Weights on the training loss per class, as Keras's class_weight (class-weight.ts): 'balanced'
   * (n / (classes × count), from `data`) or a map from class name or index to a weight (unlisted
   * classes 1). Validation loss stays unweighted, as in Keras. Default: none, every sample counts 1.
   */
  classWeight?: ClassWeight;
  /**
   * Label smoothing ε in [0, 1) of the loss, as Keras's and PyTorch's `label_smoothing`: targets
   * (1 − ε)·onehot + ε/K for K softmax units, y·(1 − ε) + ε/2 for one sigmoid unit. Validation loss
   * uses the same smoothed loss, as Keras's val_loss does. Default 0 (off).
   */
  labelSmoothing?: number;
  /** End with the weights of the best epoch by a validation metric (callbacks/keep-best.ts). Off by default; needs `validation`. */
  keepBest?: KeepBestOptions | false;
  /** Keras's ReduceLROnPlateau (callbacks/reduce-on-plateau.ts). Off by default; needs `validation`. */
  reduceOnPlateau?: ReduceOnPlateauOptions | false;
  /**
   * How trainable BatchNorm layers (and BatchNorm nodes of trainable OnnxBlocks) run (batchnorm-mode.ts):
   * 'train' batch statistics, moving averages updated; 'frozen' on their moving statistics, kept,
   * with γ/β still training (Keras's fine-tuning guide); 'auto' is 'train' for now. Default 'auto'.
   */
  batchNorm?: BatchNormMode;
}

/** Rewrites `count` samples of shape `sampleShape` at the start of `x`, in place. */
export type BatchAugmenter = (x: Float32Array, count: number, sampleShape: readonly number[], rng: Rng) => void;

export const FIT_DEFAULTS = { batchSize: 32, seed: 0, phase: 'train' } as const;

/** How often (ms) the running loss is read back for progress and the divergence check. */
const PROGRESS_INTERVAL_MS = 250;

/**
 * Trains the model's trainable weights on `data`. Trainability is read when `fit` starts, so
 * freezing or unfreezing layers between calls always takes effect: there is nothing to recompile.
 * A non-finite or diverging loss (divergence.ts) stops training and restores the weights from the
 * start of that epoch; stopReason says which. A batch size above the sample count is clamped to it.
 */
export async function fit(model: tfl.LayersModel, data: Dataset, options: FitOptions): Promise<FitResult> {
  const o = {
    ...options,
    batchSize: options.batchSize ?? FIT_DEFAULTS.batchSize,
    seed: options.seed ?? FIT_DEFAULTS.seed,
    phase: options.phase ?? FIT_DEFAULTS.phase,
  };
  if (!Number.isInteger(o.epochs) || o.epochs < 0) throw new GraftError('BAD_ARGUMENT', `epochs must be a whole number ≥ 0; received ${o.epochs}.`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new GraftError('BAD_ARGUMENT', `batchSize must be a whole number ≥ 1; received ${o.batchSize}.`);
  if (data.y.length === 0) throw new GraftError('BAD_ARGUMENT', `Training data ${data.source} is empty; check the task spec and --per-class.`);
  assertUnitRange(data, 'training data');
  if (o.validation) assertUnitRange(o.validation, 'validation data');
  const head = describeOutput(model);
  checkFromLogits(head, o.fromLogits);
  checkLabels(head, data.y, `Training data ${data.source}`);
  if (o.validation) checkLabels(head, o.validation.y, `Validation data ${o.validation.source}`);
  if (o.earlyStopping && !o.validation) {
    throw new GraftError('BAD_ARGUMENT', 'Early stopping watches the validation loss, but no validation data was given. Pass `validation` (e.g. --val-split 0.1) or turn early stopping off.');
  }
  if ((o.keepBest || o.reduceOnPlateau) && !o.validation) {
    throw new GraftError('BAD_ARGUMENT', `${o.keepBest ? 'Keeping the best weights' : 'Reduce-on-plateau'} watches a validation metric, but no validation data was given. Pass \`validation\` (e.g. --val-split 0.1) or turn it off.`);
  }
  const smoothing = o.labelSmoothing ?? 0;
  checkLabelSmoothing(smoothing);
  const shape = modelSampleShape(model, data.sampleShape, data.source);
  const size = sampleSize(shape);
  const opt = resolveOptimizer(o.optimizer);
  const schedule = resolveSchedule(o.schedule);
  checkScheduleFits(schedule, opt.learningRate, o.epochs, o.phase);
  const classWeights = o.classWeight === undefined ? undefined : resolveClassWeights(o.classWeight, data.y, data.classNames);
  if (classWeights) o.callbacks?.onMessage?.(`Phase "${o.phase}": class weights (${formatClassWeight(o.classWeight!)}): ${describeClassWeights(classWeights, data.classNames)}.`);
  const bnTraining = resolveBatchNorm(o.batchNorm) === 'train';
  const stepper = await chooseStepper(model, head, opt, o.learningRateScale, size, o.engine, classWeights, smoothing, bnTraining);
  const nothingToTrain = (): GraftError =>
    new GraftError('BAD_ARGUMENT', `Every layer of ${model.name} is frozen, so there is nothing to train. Unfreeze some layers or add a trainable head.`);
  if (!o.beforeEpoch && (await stepper.refresh()) === 0) {
    stepper.dispose();
    throw nothingToTrain();
  }
  const rng = new Rng(deriveSeed(o.seed, `fit:${o.phase}`));
  // A stream of its own, so turning augmentation on leaves shuffling and dropout unchanged.
  const augmentRng = new Rng(deriveSeed(o.seed, `augment:${o.phase}`));
  const dropouts = flatLayers(model).filter((l) => l.getClassName() === 'Dropout') as Array<tfl.layers.Layer & { seed?: number }>;
  const savedSeeds = dropouts.map((d) => d.seed);
  const early = o.earlyStopping ? new EarlyStopping(o.earlyStopping) : undefined;
  const keep = o.keepBest ? new KeepBest(o.keepBest) : undefined;
  const plateau = o.reduceOnPlateau ? new ReduceOnPlateau(o.reduceOnPlateau) : undefined;
  const history: EpochRecord[] = [];
  const n = data.y.length;
  if (o.batchSize > n) {
    // One step over all samples: what the larger batch would do, without a buffer sized for it.
    o.callbacks?.onMessage?.(`Phase "${o.phase}": batch size ${o.batchSize} is more than the ${n} training samples; each step uses all ${n}.`);
    o.batchSize = n;
  }
  const batches = Math.ceil(n / o.batchSize);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const xBuf = new Float32Array(o.batchSize * size);
  const yBuf = new Float32Array(o.batchSize);
  let stopReason: FitResult['stopReason'] = 'completed';
  let message: string | undefined;
  let guard: FitResult['guard'];
  const lastGood = new WeightSnapshot();
  let checkpoint: FitCheckpoint | undefined;
  const resume = o.resumeFrom;
  if (resume) checkResume(resume, model, o, n, batches, { earlyStopping: early !== undefined, keepBest: keep !== undefined, reduceOnPlateau: plateau !== undefined });
  const chance = chanceLoss(head);
  // The loss at the starting weights (the first batch's), read once; a resumed fit has it from the checkpoint.
  let startLoss = resume?.startLoss;

  try {
    if (resume) {
      // Replays the unfreezing of every epoch up to the interrupted one, so the same layers train
      // and each has its optimizer again; then everything else is put back as it was.
      for (let e = 1; e <= resume.epoch && o.beforeEpoch; e++) {
        o.beforeEpoch(e);
        if ((await stepper.refresh()) === 0) throw nothingToTrain();
      }
      if (resume.weights) writeWeights(model, resume.weights, 'The checkpoint');
      lastGood.load(model, resume.epochStartWeights);
      await stepper.restoreState(resume.optimizers);
      if (early && resume.earlyStopping) early.restoreState(model, resume.earlyStopping);
      if (keep && resume.keepBest) keep.restoreState(model, resume.keepBest);
      if (plateau && resume.reduceOnPlateau) {
        plateau.restoreState(resume.reduceOnPlateau);
        await stepper.setLearningRateFactor(plateau.rateFactor);
      }
      rng.setState(resume.rng);
      augmentRng.setState(resume.augmentRng);
      order.set(resume.order);
      history.push(...resume.history.map((r) => ({ ...r })));
    }
    for (let epoch = resume?.epoch ?? 1; epoch <= o.epochs; epoch++) {
      const resuming = resume !== undefined && epoch === resume.epoch;
      const started = performance.now() - (resuming ? resume.epochSeconds * 1000 : 0);
      if (!resuming) {
        if (o.beforeEpoch) {
          o.beforeEpoch(epoch);
          if ((await stepper.refresh()) === 0) throw nothingToTrain();
        }
        lastGood.take(model);
        rng.shuffle(order);
      }
      // Sums restored as the values they held, so a resumed epoch's means come out the same.
      stepper.beginEpoch(resuming ? resume.lossSum : 0, resuming ? resume.correctSum : 0);
      o.callbacks?.onEpochBegin?.({ phase: o.phase, epoch, epochs: o.epochs, batches });
      let seen = resuming ? resume.seen : 0;
      let lastRead = performance.now();
      let finite = true;
      let diverged: string | undefined;
      for (let b = resuming ? resume.batch : 0; b < batches; b++) {
        if (o.signal?.aborted) {
          await stepper.flush();
          stepper.syncModel();
          const sums = stepper.sums();
          checkpoint = {
            phase: o.phase,
            epoch,
            epochs: o.epochs,
            batch: b,
            batches,
            batchSize: o.batchSize,
            samples: n,
            order: order.slice(),
            rng: rng.getState(),
            augmentRng: augmentRng.getState(),
            lossSum: sums.loss,
            correctSum: sums.correct,
            seen,
            epochSeconds: (performance.now() - started) / 1000,
            history: history.map((r) => ({ ...r })),
            weights: readWeights(model),
            epochStartWeights: lastGood.toArrays()!,
            optimizers: await stepper.saveState(),
          };
          if (startLoss !== undefined) checkpoint.startLoss = startLoss;
          if (early) checkpoint.earlyStopping = early.state();
          if (keep) checkpoint.keepBest = keep.state();
          if (plateau) checkpoint.reduceOnPlateau = plateau.state();
          break;
        }
        const start = b * o.batchSize;
        const end = Math.min(n, start + o.batchSize);
        const m = end - start;
        gatherSamples(data, order, start, end, xBuf);
        o.augment?.(xBuf, m, shape, augmentRng);
        gatherLabels(data.y, order, start, end, yBuf);
        for (const d of dropouts) d.seed = rng.seed();
        // A pure function of the position, so a resumed fit picks up the same rates.
        stepper.setLearningRate(scheduledRate(schedule, opt.learningRate, epoch, b, o.epochs, batches));
        await stepper.step(xBuf, yBuf, m, shape);
        seen += m;
        const now = performance.now();
        const first = startLoss === undefined && !resuming && epoch === 1 && b === 0;
        if (first || now - lastRead >= PROGRESS_INTERVAL_MS || b === batches - 1) {
          lastRead = now;
          await stepper.flush();
          const sums = stepper.sums();
          const loss = sums.loss / seen;
          if (first) startLoss = loss;
          finite = Number.isFinite(loss);
          if (!finite) break;
          diverged = explodedLoss(loss, divergenceYardstick(chance, startLoss));
          if (diverged) break;
          o.callbacks?.onBatchProgress?.({ phase: o.phase, epoch, epochs: o.epochs, batch: b + 1, batches, loss, accuracy: sums.correct / seen, elapsedSeconds: (now - started) / 1000 });
          // Lets signals and timers run during long epochs.
          await yieldToEventLoop();
        } else if (o.signal) {
          // A stop request is seen before the next batch, not only a few times a second.
          await yieldToEventLoop();
        }
      }
      if (checkpoint) {
        stopReason = 'interrupted';
        message = `Phase "${o.phase}" interrupted in epoch ${epoch}/${o.epochs} after ${checkpoint.batch} of ${batches} batches; resume from the checkpoint to continue.`;
        break;
      }
      await stepper.flush();
      const sums = stepper.sums();
      const loss = sums.loss / seen;
      const accuracy = sums.correct / seen;
      stepper.syncModel();
      diverged ??= finite && Number.isFinite(loss) ? divergedEpoch(loss, history[history.length - 1]?.loss, divergenceYardstick(chance, startLoss)) : undefined;
      if (!finite || !Number.isFinite(loss) || diverged) {
        lastGood.restore(model);
        stopReason = diverged ? 'diverged' : 'non-finite-loss';
        const cause = `${diverged ? `training diverged: ${diverged},` : `the loss became ${loss} (not finite)`} with ${describeOptimizer(opt)}`;
        guard = { epoch, cause, suggestedLearningRate: suggestLearningRate(opt.learningRate, opt.name) };
        message = `Phase "${o.phase}", epoch ${epoch}: ${cause}. Training stopped and the weights from the start of epoch ${epoch} were kept. Try a lower learning rate, e.g. ${guard.suggestedLearningRate}.`;
        o.callbacks?.onMessage?.(message);
        break;
      }
      const record: EpochRecord = { phase: o.phase, epoch, loss, accuracy, learningRate: scheduledRate(schedule, opt.learningRate, epoch, 0, o.epochs, batches) * (plateau?.rateFactor ?? 1), seconds: (performance.now() - started) / 1000 };
      if (o.validation) {
        const scoring = { labelSmoothing: smoothing, probabilities: true };
        // A fit training on onnxruntime validates there too (infer-engine.ts: faster, the same to float32 rounding).
        const v = stepper.use.engine === 'onnxruntime' ? (await lossAndAccuracyOn(model, head, o.validation, scoring, o.engine)).result : lossAndAccuracy(model, head, o.validation, scoring);
        record.valLoss = v.loss;
        record.valAccuracy = v.accuracy;
        const extra = scoreMetrics(v.probabilities!, head.classes, o.validation.y, o.validation.classNames);
        if (extra.auc !== undefined) record.valAuc = extra.auc;
        if (extra.topK) {
          record.valTopK = extra.topK.accuracy;
          record.topK = extra.topK.k;
        }
        record.valMacroF1 = extra.macroF1;
        record.valPerClass = extra.perClass;
      }
      history.push(record);
      await o.callbacks?.onEpochEnd?.(record);
      keep?.update(model, record);
      if (early?.update(model, record)) {
        stopReason = 'early-stopping';
        message = `Phase "${o.phase}": ${early.monitor} did not improve for ${early.patience} epochs; stopped after epoch ${epoch}${early.restoreBest ? `, restored the weights of epoch ${early.bestEpoch}` : ''}.`;
        o.callbacks?.onMessage?.(message);
        break;
      }
      const factor = plateau?.update(record, opt.learningRate);
      if (factor !== undefined) {
        await stepper.setLearningRateFactor(factor);
        o.callbacks?.onMessage?.(`Phase "${o.phase}": ${plateau!.monitor} did not improve for ${plateau!.patience} epochs; learning rate reduced to ${opt.learningRate * factor} after epoch ${epoch}.`);
      }
    }
    // Interrupted: the model keeps its current weights, which the checkpoint holds.
    if (early?.restoreBest && !checkpoint) early.restore(model);
    // After early stopping's restore: keepBest names the weights the model ends with.
    if (keep && !checkpoint) keep.restore(model);
  } finally {
    dropouts.forEach((d, i) => (d.seed = savedSeeds[i]));
    stepper.dispose();
    lastGood.dispose();
    early?.dispose();
    keep?.dispose();
  }
  const result: FitResult = { history, stopReason, engine: stepper.use };
  if (classWeights) result.classWeights = classWeightRecord(classWeights, data.classNames);
  if (message !== undefined) result.message = message;
  if (guard) result.guard = guard;
  if (early?.bestEpoch !== undefined) result.bestEpoch = early.bestEpoch;
  if (keep?.bestEpoch !== undefined && !checkpoint) {
    const kept = history.find((r) => r.epoch === keep.bestEpoch);
    const value = kept && monitorValue(kept, keep.monitor);
    if (value !== undefined) result.keptBest = { epoch: keep.bestEpoch, monitor: keep.monitor, value };
  }
  if (checkpoint) result.checkpoint = checkpoint;
  return result;
}

/** Refuses a checkpoint that does not belong to this fit (another model, data or batch size). */
function checkResume(c: FitCheckpoint, model: tfl.LayersModel, o: { phase: string; epochs: number; batchSize: number }, n: number, batches: number, on: { earlyStopping: boolean; keepBest: boolean; reduceOnPlateau: boolean }): void {
  const bad = (what: string): GraftError =>
    new GraftError('CHECKPOINT_MISMATCH', `Cannot resume phase "${o.phase}" from this checkpoint: ${what}. Resume with the model, data and options of the interrupted run.`);
  if (c.phase !== o.phase) throw bad(`it was taken in phase "${c.phase}"`);
  if (c.batchSize !== o.batchSize) throw bad(`it was taken with batch size ${c.batchSize}, this fit has ${o.batchSize}`);
  if (c.samples !== n || c.order.length !== n) throw bad(`it was taken on ${c.samples} training samples, this fit has ${n}`);
  if (c.batches !== batches || !(c.batch >= 0 && c.batch < batches)) throw bad(`batch ${c.batch} of ${c.batches} does not fit ${batches} batches per epoch`);
  if (!(c.epoch >= 1 && c.epoch <= o.epochs)) throw bad(`it stopped in epoch ${c.epoch}, this fit has ${o.epochs} epochs`);
  for (const k of ['earlyStopping', 'keepBest', 'reduceOnPlateau'] as const) {
    if (on[k] !== (c[k] !== undefined)) throw bad(`${k} was ${c[k] ? 'on' : 'off'} in the interrupted fit`);
  }
  if (c.weights) checkWeights(model, c.weights, 'The checkpoint');
  checkWeights(model, c.epochStartWeights, "The checkpoint's start-of-epoch weights");
}
