import type { OptimizerState } from './checkpoint.js';

/** Which engine ran a fit's training steps, and why the faster one did not (when it did not). */
export interface EngineUse {
  engine: 'onnxruntime' | 'tfjs';
  /** Set when onnxruntime was possible in principle but this model or setup could not use it. */
  reason?: string;
}

/**
 * One engine's gradient steps inside `fit`: fit owns the epochs, order, checkpoints and callbacks;
 * a stepper owns the weights while an epoch runs and the optimizer state across epochs.
 */
export interface Stepper {
  readonly use: EngineUse;
  /** Re-reads which layers train (it may change between epochs); returns the trainable variable count. */
  refresh(): Promise<number>;
  /** Start of an epoch (or of a resumed part of one): the model's weights are the truth. */
  beginEpoch(lossSum: number, correctSum: number): void;
  /** The phase's learning rate for the next steps (a schedule changes it); each layer's is this × its discriminative factor. */
  setLearningRate(rate: number): void;
  /** One step on the first m samples of x (m × sample floats) and their integer labels. */
  step(x: Float32Array, labels: Float32Array, m: number, sampleShape: readonly number[]): Promise<void>;
  /**
   * Runs the steps taken so far. A stepper may queue steps and run several at once (the onnxruntime
   * one does); sums, syncModel, beginEpoch and restoreState need every step run, so fit flushes first.
   */
  flush(): Promise<void>;
  /** The epoch's running sums: loss × samples and correct predictions (reading may wait for the device). */
  sums(): { loss: number; correct: number };
  /** Writes the trained weights into the model (end of epoch, checkpoint, early stop). */
  syncModel(): void;
  /**
   * Multiplies every layer's learning rate (the phase's rate × its layer scale) by `factor` from the
   * next step on (reduce-on-plateau; 1 restores the base rate). Not part of saveState: fit keeps the
   * factor in its checkpoint and sets it again on resume.
   */
  setLearningRateFactor(factor: number): Promise<void>;
  saveState(): Promise<OptimizerState[]>;
  restoreState(states: readonly OptimizerState[]): Promise<void>;
  dispose(): void;
}
