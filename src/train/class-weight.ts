import { GraftError } from '../errors.js';

/**
 * Weights on the loss per class, as Keras's `fit(class_weight=…)`: each sample's cross-entropy is
 * multiplied by its class's weight and the batch loss is sum(w_i · loss_i) / batch size (Keras's
 * "sum_over_batch_size"; the weights are not renormalised). Validation loss stays unweighted, as in Keras.
 *
 * - `'balanced'`: n_samples / (n_classes × count_c) on the training set the fit actually gets
 *   (after subsampling and the validation split), as scikit-learn's compute_class_weight('balanced').
 * - a map from class name (or index, as a string or number key) to a positive weight; classes not
 *   listed keep weight 1, as Keras does.
 */
export type ClassWeight = 'balanced' | Readonly<Record<string, number>>;

/** The weight of each class, by label, for the training labels `labels`; refuses bad values naming them. */
export function resolveClassWeights(spec: ClassWeight, labels: Int32Array, classNames: readonly string[]): Float32Array {
  const k = classNames.length;
  if (spec === 'balanced') {
    const counts = new Array<number>(k).fill(0);
    for (const l of labels) counts[l] = (counts[l] ?? 0) + 1;
    const empty = classNames.filter((_, c) => counts[c] === 0);
    if (empty.length > 0) {
      throw new GraftError(
        'BAD_ARGUMENT',
        `class weight "balanced" divides by each class's count, but the training data has no samples of ${empty.map((c) => JSON.stringify(c)).join(', ')} (counts: ${describeCounts(counts, classNames)}). Give those classes samples, or list weights per class (e.g. ${classNames[0] ?? '0'}=1).`,
      );
    }
    return Float32Array.from(counts, (c) => labels.length / (k * c));
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new GraftError('BAD_ARGUMENT', `class weight must be "balanced" or a map from class to weight; received ${JSON.stringify(spec)}.`);
  }
  const weights = new Float32Array(k).fill(1);
  const seen = new Map<number, string>();
  for (const [key, value] of Object.entries(spec)) {
    const c = classIndex(key, classNames);
    if (c === undefined) {
      throw new GraftError('BAD_ARGUMENT', `class weight names class ${JSON.stringify(key)}, which is not a class of this task; the classes are ${classNames.map((n, i) => `${i} ${JSON.stringify(n)}`).join(', ')}.`);
    }
    const earlier = seen.get(c);
    if (earlier !== undefined) {
      throw new GraftError('BAD_ARGUMENT', `class weight gives class ${JSON.stringify(classNames[c])} twice (as ${JSON.stringify(earlier)} and ${JSON.stringify(key)}); give each class one weight.`);
    }
    seen.set(c, key);
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new GraftError('BAD_ARGUMENT', `class weight for ${JSON.stringify(key)} must be a finite number > 0; received ${typeof value === 'number' ? String(value) : JSON.stringify(value)}. Use e.g. 2 to count that class's samples twice.`);
    }
    weights[c] = value;
  }
  return weights;
}

/**
 * A class by its exact name, else by name as task specs match it (letters and digits, any case:
 * "tshirt-top" is "T-shirt/top"), else by index ("0", "1", …). Names win, so a class named "1" stays reachable.
 */
function classIndex(key: string, classNames: readonly string[]): number | undefined {
  const exact = classNames.indexOf(key);
  if (exact >= 0) return exact;
  const loose = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const near = classNames.flatMap((n, i) => (loose(n) === loose(key) && loose(key) !== '' ? [i] : []));
  if (near.length === 1) return near[0];
  if (/^\d+$/.test(key) && Number(key) < classNames.length) return Number(key);
  return undefined;
}

function describeCounts(counts: readonly number[], classNames: readonly string[]): string {
  return classNames.map((n, c) => `${n} ${counts[c] ?? 0}`).join(', ');
}

/**
 * Parses the CLI and experiment-file form: `balanced`, or `class=weight,class=weight` (class by
 * name or index). A class given twice is refused here, where the text still shows it.
 */
export function parseClassWeight(text: string): ClassWeight {
  const t = text.trim();
  if (t === 'balanced') return 'balanced';
  const out: Record<string, number> = {};
  const bad = (why: string): GraftError =>
    new GraftError('BAD_ARGUMENT', `--class-weight ${JSON.stringify(text)}: ${why}. Use "balanced" or class=weight pairs, e.g. --class-weight sandal=2,tshirt-top=1 (classes by name or index).`);
  if (t === '') throw bad('it is empty');
  for (const part of t.split(',')) {
    const eq = part.lastIndexOf('=');
    if (eq <= 0) throw bad(`${JSON.stringify(part.trim())} is not class=weight`);
    const key = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    const value = raw === '' ? NaN : Number(raw);
    if (Object.prototype.hasOwnProperty.call(out, key)) throw bad(`class ${JSON.stringify(key)} is listed twice`);
    if (!Number.isFinite(value) || value <= 0) throw bad(`the weight of ${JSON.stringify(key)} must be a finite number > 0, not ${JSON.stringify(raw)}`);
    out[key] = value;
  }
  return out;
}

/** The canonical text of a spec, for records and messages: "balanced" or "a=2,b=1". */
export function formatClassWeight(spec: ClassWeight): string {
  return spec === 'balanced' ? 'balanced' : Object.entries(spec).map(([k, v]) => `${k}=${v}`).join(',');
}

/** The weights used, by class name (as run.json records them). */
export function classWeightRecord(weights: Float32Array, classNames: readonly string[]): Record<string, number> {
  return Object.fromEntries(classNames.map((n, c) => [n, roundForDisplay(weights[c]!)]));
}

/** "tshirt-top 0.6667, sandal 2": for messages. */
export function describeClassWeights(weights: Float32Array, classNames: readonly string[]): string {
  return classNames.map((n, c) => `${n} ${Number(roundForDisplay(weights[c]!).toPrecision(4))}`).join(', ');
}

/** Float32 weights as the shortest decimal that reads back to the same float32. */
function roundForDisplay(w: number): number {
  for (let p = 1; p <= 9; p++) {
    const r = Number(w.toPrecision(p));
    if (Math.fround(r) === w) return r;
  }
  return w;
}
