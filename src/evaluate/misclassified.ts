/** The test samples a model got wrong, for the report's image grid: a pure function over probabilities. */

export interface Misclassified {
  /** Row of the sample in the evaluated dataset. */
  index: number;
  /** True class. */
  label: number;
  /** Predicted class (the argmax). */
  predicted: number;
  /** Probability the model gave its (wrong) prediction. */
  confidence: number;
}

/**
 * Wrong predictions, most confident first: those are the instructive ones (a label error, or a
 * class the model has truly confused), while near-ties say little. Ties keep dataset order.
 * `probs` is row-major [n, classes], as `predictProbabilities` returns it.
 */
export function misclassifiedExamples(probs: Float32Array, classes: number, labels: Int32Array, max = 24): Misclassified[] {
  if (!Number.isInteger(classes) || classes < 1 || probs.length !== labels.length * classes) {
    throw new RangeError(`misclassifiedExamples: probs has ${probs.length} values, expected labels.length (${labels.length}) × classes (${classes}).`);
  }
  const wrong: Misclassified[] = [];
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (probs[i * classes + k]! > probs[i * classes + best]!) best = k;
    if (best !== labels[i]) wrong.push({ index: i, label: labels[i]!, predicted: best, confidence: probs[i * classes + best]! });
  }
  // Array.prototype.sort is stable, so equal confidences stay in dataset order.
  wrong.sort((a, b) => b.confidence - a.confidence);
  return wrong.slice(0, Math.max(0, max));
}
