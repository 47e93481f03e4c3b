import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { GraftError } from '../errors.js';
import type { OutputActivation } from '../models/output.js';

/**
 * The loss follows from the output layer; the user never pairs them by hand, so a softmax output
 * can never be trained with a from-logits loss (one of the write-up's bugs).
 */
export interface OutputHead {
  activation: OutputActivation;
  units: number;
  /** Number of classes the head can predict (2 for a single sigmoid unit). */
  classes: number;
}

const EPS = 1e-7;

export function describeOutput(model: tfl.LayersModel): OutputHead {
  const out = model.outputs[0];
  if (!out) throw new GraftError('SHAPE_MISMATCH', `Model ${model.name} has no output.`);
  const units = out.shape[out.shape.length - 1];
  if (typeof units !== 'number' || out.shape.length !== 2) {
    throw new GraftError('SHAPE_MISMATCH', `Model ${model.name} outputs shape [${out.shape.join(', ')}]; graft classifies, so it needs [batch, classes]. Add a Flatten or pooling layer before the output.`);
  }
  const config = out.sourceLayer.getConfig() as { activation?: unknown };
  const className = out.sourceLayer.getClassName();
  let activation: string;
  if (className === 'Softmax') activation = 'softmax';
  else if (typeof config.activation === 'string') activation = config.activation;
  else activation = 'linear';
  if (activation !== 'softmax' && activation !== 'sigmoid' && activation !== 'linear') {
    throw new GraftError('LOSS_ACTIVATION_MISMATCH', `Output layer ${out.sourceLayer.name} uses activation ${JSON.stringify(activation)}; graft needs softmax, sigmoid or linear (logits) to choose a classification loss. Replace the head (transfer adds a new one).`);
  }
  if (activation === 'sigmoid' && units !== 1) {
    throw new GraftError('LOSS_ACTIVATION_MISMATCH', `Output layer ${out.sourceLayer.name} has ${units} sigmoid units; graft treats sigmoid as binary (one unit). Use softmax for ${units} classes.`);
  }
  return { activation, units, classes: units === 1 ? 2 : units };
}

/** Refuses a from-logits request on a model whose output is already a probability. */
export function checkFromLogits(head: OutputHead, fromLogits: boolean | undefined): void {
  if (fromLogits === undefined) return;
  const modelEmitsLogits = head.activation === 'linear';
  if (fromLogits !== modelEmitsLogits) {
    throw new GraftError(
      'LOSS_ACTIVATION_MISMATCH',
      fromLogits
        ? `fromLogits=true was requested but the output layer applies ${head.activation}: the loss would squash probabilities a second time (the write-up's softmax + from_logits bug). Leave fromLogits unset; graft picks the loss from the output layer.`
        : `fromLogits=false was requested but the output layer is linear (it emits logits). Leave fromLogits unset, or give the output a softmax/sigmoid activation.`,
    );
  }
}

/**
 * Mean cross-entropy of `output` against integer labels (float tensor of 0..k-1). With
 * `labelSmoothing` ε > 0 the targets are Keras's/PyTorch's smoothed ones: (1 − ε)·onehot + ε/K for
 * K softmax units, y·(1 − ε) + ε/2 for one sigmoid unit (Keras's binary form).
 */
export function crossEntropy(head: OutputHead, output: tf.Tensor, labels: tf.Tensor1D, labelSmoothing = 0): tf.Scalar {
  const e = labelSmoothing;
  return tf.tidy(() => {
    if (head.units === 1) {
      const y = tf.reshape(labels, [-1, 1]);
      if (head.activation === 'linear') return tf.losses.sigmoidCrossEntropy(y, output, undefined, e) as tf.Scalar;
      const t = e > 0 ? tf.add(tf.mul(y, 1 - e), e / 2) : y;
      const p = tf.clipByValue(output, EPS, 1 - EPS);
      const ll = tf.add(tf.mul(t, tf.log(p)), tf.mul(tf.sub(1, t), tf.log(tf.sub(1, p))));
      return tf.neg(tf.mean(ll)) as tf.Scalar;
    }
    const oneHot = tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, head.units);
    if (head.activation === 'linear') return tf.losses.softmaxCrossEntropy(oneHot, output, undefined, e) as tf.Scalar;
    const t = e > 0 ? tf.add(tf.mul(oneHot, 1 - e), e / head.units) : oneHot;
    const logp = tf.log(tf.clipByValue(output, EPS, 1 - EPS));
    return tf.neg(tf.mean(tf.sum(tf.mul(t, logp), -1))) as tf.Scalar;
  });
}

/** Refuses a label smoothing outside [0, 1). */
export function checkLabelSmoothing(e: number): void {
  if (!(Number.isFinite(e) && e >= 0 && e < 1)) {
    throw new GraftError('BAD_ARGUMENT', `labelSmoothing must be a number in [0, 1); received ${e}. Typical values are 0.1 or 0.2 (0 turns it off).`);
  }
}

/** The smoothed target of a one-hot 1 and 0 for a head: [on, off] (for one sigmoid unit, the targets of labels 1 and 0). */
export function smoothedTargets(head: Pick<OutputHead, 'units'>, labelSmoothing: number): [number, number] {
  const k = head.units === 1 ? 2 : head.units;
  return [1 - labelSmoothing + labelSmoothing / k, labelSmoothing / k];
}

/**
 * Cross-entropy of what `forwardForLoss` returned: from logits when it stopped before the output's
 * softmax/sigmoid (stable, never a dead gradient), else from the probabilities.
 */
export function lossOf(head: OutputHead, output: tf.Tensor, logits: boolean, labels: tf.Tensor1D, labelSmoothing = 0): tf.Scalar {
  return crossEntropy(logits ? { ...head, activation: 'linear' } : head, output, labels, labelSmoothing);
}

/**
 * Keras's class-weighted loss: sum(w_i · cross-entropy_i) / batch size ("sum_over_batch_size"),
 * with w_i the weight of sample i's class. Of what `forwardForLoss` returned, as `lossOf`.
 */
export function weightedLossOf(head: OutputHead, output: tf.Tensor, logits: boolean, labels: tf.Tensor1D, sampleWeights: tf.Tensor1D, labelSmoothing = 0): tf.Scalar {
  return tf.tidy(() => {
    const h = logits ? { ...head, activation: 'linear' as const } : head;
    const perSample = sampleCrossEntropy(h, output, labels, labelSmoothing);
    return tf.div(tf.sum(tf.mul(perSample, sampleWeights)), labels.shape[0]) as tf.Scalar;
  });
}

/**
 * Cross-entropy of each row ([n]). TF.js's losses smooth as Keras does and skip the smoothing at
 * ε = 0, so an unsmoothed loss stays bit for bit what it was; probabilities are smoothed here alike.
 */
function sampleCrossEntropy(head: OutputHead, output: tf.Tensor, labels: tf.Tensor1D, e = 0): tf.Tensor1D {
  const NONE = tf.Reduction.NONE;
  if (head.units === 1) {
    const y = tf.reshape(labels, [-1, 1]);
    if (head.activation === 'linear') return tf.reshape(tf.losses.sigmoidCrossEntropy(y, output, undefined, e, NONE), [-1]);
    const t = e > 0 ? tf.add(tf.mul(y, 1 - e), e / 2) : y;
    const p = tf.clipByValue(output, EPS, 1 - EPS);
    return tf.reshape(tf.neg(tf.add(tf.mul(t, tf.log(p)), tf.mul(tf.sub(1, t), tf.log(tf.sub(1, p))))), [-1]);
  }
  const oneHot = tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, head.units);
  if (head.activation === 'linear') return tf.losses.softmaxCrossEntropy(oneHot, output, undefined, e, NONE) as tf.Tensor1D;
  const t = e > 0 ? tf.add(tf.mul(oneHot, 1 - e), e / head.units) : oneHot;
  return tf.neg(tf.sum(tf.mul(t, tf.log(tf.clipByValue(output, EPS, 1 - EPS))), -1)) as tf.Tensor1D;
}

/** Correct predictions of what `forwardForLoss` returned (logits or probabilities). */
export function correctOf(head: OutputHead, output: tf.Tensor, logits: boolean, labels: tf.Tensor1D): tf.Scalar {
  return correctCount(logits ? { ...head, activation: 'linear' } : head, output, labels);
}

/** Predicted class per row: argmax for several units, threshold 0.5 (or 0 for logits) for one. */
export function predictedClasses(head: OutputHead, output: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    if (head.units === 1) {
      const threshold = head.activation === 'linear' ? 0 : 0.5;
      return tf.cast(tf.greater(tf.reshape(output, [-1]), threshold), 'float32') as tf.Tensor1D;
    }
    return tf.cast(tf.argMax(output, -1), 'float32') as tf.Tensor1D;
  });
}

/** Number of correct predictions in a batch, as a scalar tensor (kept on device). */
export function correctCount(head: OutputHead, output: tf.Tensor, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(predictedClasses(head, output), labels), 'float32')) as tf.Scalar);
}

/** Class probabilities per row ([n, classes]), whatever the head. */
export function probabilities(head: OutputHead, output: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    if (head.units === 1) {
      const p = head.activation === 'linear' ? tf.sigmoid(output) : output;
      const p1 = tf.reshape(p, [-1, 1]);
      return tf.concat([tf.sub(1, p1), p1], 1) as tf.Tensor2D;
    }
    return (head.activation === 'linear' ? tf.softmax(output) : output) as tf.Tensor2D;
  });
}

/** Refuses labels the output cannot express (the write-up fed labels 7–9 to an 8-way softmax). */
export function checkLabels(head: OutputHead, labels: Int32Array, what: string): void {
  let max = -1;
  let min = Infinity;
  for (const l of labels) {
    if (l > max) max = l;
    if (l < min) min = l;
  }
  if (min < 0 || max >= head.classes) {
    const bad = min < 0 ? min : max;
    throw new GraftError(
      'LABEL_OUT_OF_RANGE',
      `${what}: label ${bad} does not fit the model's output, which predicts ${head.classes} classes (0..${head.classes - 1}${head.units === 1 ? ', one sigmoid unit' : ''}). ` +
        `Remap the labels to 0..${head.classes - 1} with a task spec (e.g. fashion-mnist:exclude=sandal,shirt remaps the 8 kept classes), or give the model an output with more classes.`,
    );
  }
}
