import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { sampleSize } from '../data/dataset.js';
import { forwardForLoss } from './forward.js';
import { correctOf, lossOf, weightedLossOf, type OutputHead } from './loss.js';
import type { ResolvedOptimizer } from './optimizer.js';
import { ParamGroups, type LearningRateScale } from './param-groups.js';
import type { OptimizerState } from './checkpoint.js';
import type { EngineUse, Stepper } from './stepper.js';

/** Training steps with TF.js's autodiff on the active backend: every model graft can load. */
export class TfjsStepper implements Stepper {
  private readonly groups: ParamGroups;
  /** The phase's scheduled rate (setLearningRate) and reduce-on-plateau's factor on it (setLearningRateFactor). */
  private scheduled: number;
  private factor = 1;
  // The sums stay on the device; reading them every batch would wait for each step.
  private lossSum: tf.Scalar = tf.scalar(0);
  private correctSum: tf.Scalar = tf.scalar(0);

  constructor(
    private readonly model: tfl.LayersModel,
    private readonly head: OutputHead,
    spec: ResolvedOptimizer,
    scale: LearningRateScale | undefined,
    readonly use: EngineUse,
    /** Loss weight per class (label), or none: every sample counts 1. */
    private readonly classWeights?: Float32Array,
    /** Label smoothing ε of the training loss (loss.ts); 0 for none. */
    private readonly labelSmoothing = 0,
    /** Whether trainable BatchNorm layers train (FitOptions.batchNorm 'train') or keep their statistics ('frozen'). */
    private readonly batchNormTraining = true,
  ) {
    this.groups = new ParamGroups(model, spec, scale);
    this.scheduled = spec.learningRate;
  }

  refresh(): Promise<number> {
    return Promise.resolve(this.groups.refresh());
  }

  setLearningRate(rate: number): void {
    this.scheduled = rate;
    this.groups.setLearningRate(rate * this.factor);
  }

  beginEpoch(lossSum: number, correctSum: number): void {
    tf.dispose([this.lossSum, this.correctSum]);
    // Float32 scalars, as the sums were held: a resumed epoch's means come out the same.
    this.lossSum = tf.scalar(lossSum);
    this.correctSum = tf.scalar(correctSum);
  }

  step(x: Float32Array, labels: Float32Array, m: number, sampleShape: readonly number[]): Promise<void> {
    const xs = tf.tensor(x.subarray(0, m * sampleSize(sampleShape)), [m, ...sampleShape]);
    const ys = tf.tensor1d(labels.subarray(0, m));
    const cw = this.classWeights;
    const ws = cw ? tf.tensor1d(Float32Array.from(labels.subarray(0, m), (l) => cw[l]!)) : undefined;
    let correct: tf.Scalar | undefined;
    let guard: tf.Scalar | undefined;
    const cost = this.groups.step(() => {
      const { output, logits } = forwardForLoss(this.model, xs, true, { batchNormTraining: this.batchNormTraining });
      correct = tf.keep(correctOf(this.head, output, logits, ys));
      // 0 × sum(outputs) is NaN when any output is: a clipped loss alone would hide it.
      guard = tf.keep(tf.mul(tf.sum(output), 0) as tf.Scalar);
      return ws ? weightedLossOf(this.head, output, logits, ys, ws, this.labelSmoothing) : lossOf(this.head, output, logits, ys, this.labelSmoothing);
    });
    const nextLoss = tf.tidy(() => tf.add(tf.add(this.lossSum, tf.mul(cost, m)), guard!) as tf.Scalar);
    const nextCorrect = tf.add(this.correctSum, correct!) as tf.Scalar;
    tf.dispose([xs, ys, cost, correct!, guard!, this.lossSum, this.correctSum]);
    ws?.dispose();
    this.lossSum = nextLoss;
    this.correctSum = nextCorrect;
    return Promise.resolve();
  }

  flush(): Promise<void> {
    // Each step is queued on TF.js's backend already; sums() waits for it.
    return Promise.resolve();
  }

  sums(): { loss: number; correct: number } {
    return { loss: this.lossSum.dataSync()[0]!, correct: this.correctSum.dataSync()[0]! };
  }

  syncModel(): void {
    // The model's variables are the ones being trained.
  }

  setLearningRateFactor(factor: number): Promise<void> {
    this.factor = factor;
    this.groups.setLearningRate(this.scheduled * factor);
    return Promise.resolve();
  }

  saveState(): Promise<OptimizerState[]> {
    return this.groups.saveState();
  }

  restoreState(states: readonly OptimizerState[]): Promise<void> {
    return this.groups.restoreState(states);
  }

  dispose(): void {
    tf.dispose([this.lossSum, this.correctSum]);
    this.groups.dispose();
  }
}
