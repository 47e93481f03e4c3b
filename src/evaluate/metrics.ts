/** Metrics from integer labels and predicted classes: pure functions over typed arrays. */

export interface ClassMetrics {
  name: string;
  precision: number;
  recall: number;
  f1: number;
  /** Number of true samples of this class. */
  support: number;
}

/** confusion[true][predicted] = count. */
export function confusionMatrix(labels: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const row = m[labels[i]!];
    const p = predicted[i]!;
    if (row && p >= 0 && p < classes) row[p] = (row[p] ?? 0) + 1;
  }
  return m;
}

export function accuracyFromConfusion(confusion: number[][]): number {
  let correct = 0;
  let total = 0;
  confusion.forEach((row, i) => row.forEach((v, j) => ((total += v), i === j && (correct += v))));
  return total === 0 ? NaN : correct / total;
}

/** Per-class precision, recall and F1; 0 where the denominator is 0 (as scikit-learn's zero_division=0). */
export function perClassMetrics(confusion: number[][], classNames: readonly string[]): ClassMetrics[] {
  return confusion.map((row, k) => {
    const tp = row[k] ?? 0;
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, r) => a + (r[k] ?? 0), 0);
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { name: classNames[k] ?? String(k), precision, recall, f1, support };
  });
}

/** Argmax per row of a row-major [n, k] probability matrix. */
export function argmaxRows(probs: Float32Array, k: number): Int32Array {
  const n = probs.length / k;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (probs[i * k + j]! > probs[i * k + best]!) best = j;
    out[i] = best;
  }
  return out;
}

/** Mean cross-entropy of row-major [n, k] probabilities against labels, clipped like the training loss. */
export function crossEntropyFromProbs(probs: Float32Array, k: number, labels: ArrayLike<number>): number {
  const eps = 1e-7;
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = probs[i * k + labels[i]!]!;
    sum -= Math.log(Math.min(1 - eps, Math.max(eps, p)));
  }
  return labels.length === 0 ? NaN : sum / labels.length;
}
