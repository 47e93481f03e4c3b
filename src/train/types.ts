import type { FitCheckpoint } from './checkpoint.js';
import type { EngineUse } from './stepper.js';
import type { ClassMetrics } from '../evaluate/metrics.js';

/** One epoch of one phase, as kept in run.json and history.jsonl. */
export interface EpochRecord {
  phase: string;
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** Validation ROC AUC (binary tasks; evaluate/metrics.ts binaryAuc). */
  valAuc?: number;
  /** Validation top-k accuracy and its k (more than 5 classes; metrics.ts topKFor). */
  valTopK?: number;
  topK?: number;
  /** Validation macro F1 and per-class precision/recall/F1 (metrics.ts perClassMetrics). */
  valMacroF1?: number;
  valPerClass?: ClassMetrics[];
  learningRate: number;
  seconds: number;
}

export interface FitResult {
  history: EpochRecord[];
  /**
   * 'interrupted': `signal` asked it to stop; `checkpoint` resumes it. 'non-finite-loss' (NaN or
   * infinite) and 'diverged' (a finite loss that exploded, see divergence.ts): the model holds the
   * weights from the start of the epoch where it happened.
   */
  stopReason: 'completed' | 'early-stopping' | 'non-finite-loss' | 'diverged' | 'interrupted';
  /** Why training stopped early, in words. */
  message?: string;
  /** Set when the loss guard stopped the fit: the epoch, what happened in words, and a rate worth trying. */
  guard?: { epoch: number; cause: string; suggestedLearningRate: number };
  /** With early stopping: the epoch whose weights were kept. */
  bestEpoch?: number;
  /** With `keepBest`: the epoch whose weights the model ends with, the metric and its value then. */
  keptBest?: { epoch: number; monitor: string; value: number };
  /** When interrupted: pass it back as `resumeFrom` to continue exactly where it stopped. */
  checkpoint?: FitCheckpoint;
  /** The engine that ran the steps (and why not onnxruntime, when not). */
  engine?: EngineUse;
  /** With `classWeight`: the loss weight used for each class, by class name. */
  classWeights?: Record<string, number>;
}

export interface BatchProgress {
  phase: string;
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  elapsedSeconds: number;
}

export interface TrainCallbacks {
  onEpochBegin?(info: { phase: string; epoch: number; epochs: number; batches: number }): void;
  /** Called a few times a second with running means over the epoch so far. */
  onBatchProgress?(info: BatchProgress): void;
  onEpochEnd?(record: EpochRecord): void | Promise<void>;
  /** Warnings and stop reasons, in words. */
  onMessage?(text: string): void;
}
