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

/**
 * Area under the ROC curve of a binary problem, exact from the scores: the chance that a random
 * positive scores above a random negative, ties counting one half (the Mann–Whitney U statistic,
 * which equals the trapezoid area under the ROC curve through every threshold, as scikit-learn's
 * roc_auc_score). NaN when either class is absent (the curve is undefined).
 */
export function binaryAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  // Average ranks (1-based) over runs of equal scores.
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && scores[order[end]!] === scores[order[start]!]) end++;
    const rank = (start + 1 + end) / 2;
    for (let j = start; j < end; j++) {
      if (positive[order[j]!]) {
        positives++;
        rankSum += rank;
      }
    }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Share of rows whose label is among the k highest of its row of row-major [n, classes] scores.
 * Ties at the boundary count as in (tf.math.in_top_k's rule): the label is in when fewer than k
 * classes score strictly higher.
 */
export function topKAccuracy(probs: Float32Array, classes: number, labels: ArrayLike<number>, k: number): number {
  const n = labels.length;
  if (n === 0) return NaN;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const own = probs[i * classes + labels[i]!]!;
    let higher = 0;
    for (let c = 0; c < classes; c++) if (probs[i * classes + c]! > own) higher++;
    if (higher < k) hits++;
  }
  return hits / n;
}

/** The k of the top-k accuracy graft reports: 5 for more than 5 classes; none (undefined) otherwise, where top-5 would always be 1. */
export function topKFor(classes: number): number | undefined {
  return classes > 5 ? 5 : undefined;
}

/** Validation metrics beyond loss and accuracy, per epoch (EpochRecord) and in run.json. */
export interface ScoreMetrics {
  /** ROC AUC of class 1's probability (binary problems only; NaN when a class is absent). */
  auc?: number;
  /** Top-k accuracy and its k (more than 5 classes, see topKFor). */
  topK?: { k: number; accuracy: number };
  /** Unweighted mean of the per-class F1 scores. */
  macroF1: number;
  perClass: ClassMetrics[];
}

/** AUC (binary), top-k (many classes) and per-class precision/recall/F1 of row-major [n, classes] probabilities. */
export function scoreMetrics(probs: Float32Array, classes: number, labels: ArrayLike<number>, classNames: readonly string[]): ScoreMetrics {
  const perClass = perClassMetrics(confusionMatrix(labels, argmaxRows(probs, classes), classes), classNames);
  const out: ScoreMetrics = { macroF1: perClass.reduce((a, c) => a + c.f1, 0) / Math.max(1, perClass.length), perClass };
  if (classes === 2) {
    const n = labels.length;
    out.auc = binaryAuc(Float32Array.from({ length: n }, (_, i) => probs[i * 2 + 1]!), Array.from({ length: n }, (_, i) => labels[i] === 1));
  }
  const k = topKFor(classes);
  if (k !== undefined) out.topK = { k, accuracy: topKAccuracy(probs, classes, labels, k) };
  return out;
}
