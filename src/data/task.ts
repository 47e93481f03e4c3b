import { GraftError } from '../errors.js';
import { type Dataset, take } from './dataset.js';
import { FASHION_MNIST_CLASSES } from './fashion-mnist.js';

/**
 * Declarative task specs: which classes of a dataset a model learns, and how they are relabelled.
 *
 *   fashion-mnist                        all ten classes
 *   fashion-mnist:exclude=sandal,shirt   the other eight, relabelled 0..7 in original order
 *   fashion-mnist:binary=tshirt-top,sandal   negative → 0, positive → 1
 *   fashion-mnist:classes=bag,coat,dress keep these, labelled in the order given
 *
 * Relabelling lives here, once, because feeding original labels 7–9 to an 8-way output was one of
 * the write-up's bugs.
 */

/** One class of a dataset: a slug for specs and a display name. */
export interface ClassInfo {
  readonly slug: string;
  readonly name: string;
}

export const CIFAR10_CLASSES: readonly ClassInfo[] = [
  { slug: 'airplane', name: 'Airplane' },
  { slug: 'automobile', name: 'Automobile' },
  { slug: 'bird', name: 'Bird' },
  { slug: 'cat', name: 'Cat' },
  { slug: 'deer', name: 'Deer' },
  { slug: 'dog', name: 'Dog' },
  { slug: 'frog', name: 'Frog' },
  { slug: 'horse', name: 'Horse' },
  { slug: 'ship', name: 'Ship' },
  { slug: 'truck', name: 'Truck' },
];

/** Every dataset a task spec may name, with its classes in original label order. */
export const DATASET_CLASSES: Readonly<Record<string, readonly ClassInfo[]>> = {
  'fashion-mnist': FASHION_MNIST_CLASSES,
  cifar10: CIFAR10_CLASSES,
};

export type TaskMode = 'all' | 'exclude' | 'binary' | 'classes';

export interface TaskSpec {
  dataset: string;
  mode: TaskMode;
  /** Original class indices, in new-label order: classes[k] becomes label k. */
  classes: number[];
}

const FORMS =
  'Valid forms: <dataset>, <dataset>:exclude=a,b, <dataset>:binary=negative,positive, <dataset>:classes=a,b,c ' +
  '(classes by slug, display name or index); or your own images: folder:PATH, csv:FILE';

function bad(spec: string, problem: string, hint: string): GraftError {
  return new GraftError('BAD_TASK_SPEC', `Task spec ${JSON.stringify(spec)}: ${problem}. ${hint}`);
}

function classList(classes: readonly ClassInfo[]): string {
  return classes.map((c, i) => `${i}=${c.slug}`).join(', ');
}

/** Lower-case letters and digits only, so "T-shirt/top", "tshirt-top" and "TShirt_Top" all match. */
function loose(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function datasetClasses(dataset: string, spec: string): readonly ClassInfo[] {
  // Own properties only: a dataset named "__proto__" or "constructor" must be unknown, not Object's.
  const classes = Object.hasOwn(DATASET_CLASSES, dataset) ? DATASET_CLASSES[dataset] : undefined;
  if (!classes) {
    throw bad(spec, `unknown dataset ${JSON.stringify(dataset)}`, `Known datasets: ${Object.keys(DATASET_CLASSES).join(', ')}. ${FORMS}.`);
  }
  return classes;
}

function resolveClass(token: string, classes: readonly ClassInfo[], spec: string, dataset: string): number {
  if (/^\d+$/.test(token)) {
    const i = Number(token);
    if (i < classes.length) return i;
    throw bad(spec, `class index ${token} is out of range 0..${classes.length - 1}`, `Classes of ${dataset}: ${classList(classes)}.`);
  }
  const key = loose(token);
  const i = classes.findIndex((c) => loose(c.slug) === key || loose(c.name) === key);
  if (key === '' || i < 0) {
    throw bad(spec, `unknown class ${JSON.stringify(token)}`, `Classes of ${dataset}: ${classList(classes)}.`);
  }
  return i;
}

/** Parses a task spec; throws BAD_TASK_SPEC naming the bad part and the valid choices. */
export function parseTaskSpec(text: string): TaskSpec {
  const spec = text.trim();
  const colon = spec.indexOf(':');
  const dataset = (colon < 0 ? spec : spec.slice(0, colon)).trim().toLowerCase();
  if (dataset === '') throw bad(text, 'no dataset name', `Known datasets: ${Object.keys(DATASET_CLASSES).join(', ')}. ${FORMS}.`);
  const classes = datasetClasses(dataset, text);
  const all = classes.map((_, i) => i);
  if (colon < 0) return { dataset, mode: 'all', classes: all };

  const rest = spec.slice(colon + 1);
  const eq = rest.indexOf('=');
  const mode = (eq < 0 ? rest : rest.slice(0, eq)).trim().toLowerCase();
  if (mode !== 'exclude' && mode !== 'binary' && mode !== 'classes') {
    throw bad(text, `unknown mode ${JSON.stringify(mode)} (expected exclude, binary or classes)`, `${FORMS}.`);
  }
  const tokens = (eq < 0 ? '' : rest.slice(eq + 1)).split(',').map((t) => t.trim());
  if (tokens.some((t) => t === '')) {
    throw bad(text, `the ${mode} list has an empty entry`, `Write ${mode}=a,b with class names separated by single commas. Classes of ${dataset}: ${classList(classes)}.`);
  }
  const picked = tokens.map((t) => resolveClass(t, classes, text, dataset));
  const dup = picked.find((c, i) => picked.indexOf(c) !== i);
  if (dup !== undefined) {
    throw bad(text, `class ${classes[dup]!.slug} is listed twice`, 'List each class once.');
  }

  if (mode === 'exclude') {
    const kept = all.filter((i) => !picked.includes(i));
    if (kept.length < 2) {
      throw bad(text, `excluding ${picked.length} of ${classes.length} classes leaves ${kept.length}`, 'A classifier needs at least 2 classes; exclude fewer.');
    }
    return { dataset, mode, classes: kept };
  }
  if (mode === 'binary' && picked.length !== 2) {
    throw bad(text, `binary needs exactly 2 classes (negative, positive) but got ${picked.length}`, `Write e.g. ${dataset}:binary=${classes[0]!.slug},${classes[classes.length - 1]!.slug}.`);
  }
  if (mode === 'classes' && picked.length < 2) {
    throw bad(text, `classes needs at least 2 classes but got ${picked.length}`, `List two or more, e.g. ${dataset}:classes=${classes[0]!.slug},${classes[1]!.slug}.`);
  }
  return { dataset, mode, classes: picked };
}

/** Specs may be built by hand rather than parsed; indices must be valid and distinct. */
function checkedClasses(spec: TaskSpec): readonly ClassInfo[] {
  const label = `${spec.dataset}:${spec.mode}=${spec.classes.join(',')}`;
  const classes = datasetClasses(spec.dataset, label);
  const badIndex = spec.classes.find((c, i) => !Number.isInteger(c) || c < 0 || c >= classes.length || spec.classes.indexOf(c) !== i);
  if (badIndex !== undefined || spec.classes.length < 2) {
    throw bad(
      label,
      badIndex === undefined ? `it keeps ${spec.classes.length} class(es)` : `class index ${badIndex} is out of range or repeated`,
      `classes must hold 2 or more distinct indices of ${spec.dataset} (${classList(classes)}); build specs with parseTaskSpec.`,
    );
  }
  return classes;
}

/** Canonical text of a spec (slugs, lower case); `parseTaskSpec(formatTaskSpec(s))` equals `s`. */
export function formatTaskSpec(spec: TaskSpec): string {
  const classes = checkedClasses(spec);
  const slug = (i: number): string => classes[i]!.slug;
  switch (spec.mode) {
    case 'all':
      return spec.dataset;
    case 'exclude': {
      const excluded = classes.map((_, i) => i).filter((i) => !spec.classes.includes(i));
      return `${spec.dataset}:exclude=${excluded.map(slug).join(',')}`;
    }
    case 'binary':
    case 'classes':
      return `${spec.dataset}:${spec.mode}=${spec.classes.map(slug).join(',')}`;
  }
}

/** Display names of the task's classes, indexed by new label. */
export function taskClassNames(spec: TaskSpec): string[] {
  const classes = checkedClasses(spec);
  return spec.classes.map((i) => classes[i]!.name);
}

/**
 * Keeps the task's classes and relabels them 0..k-1. `ds` must hold the dataset's full original
 * classes (as loaded), so a task is never applied on top of another.
 */
export function applyTask(ds: Dataset, spec: TaskSpec): Dataset {
  const text = formatTaskSpec(spec);
  const classes = checkedClasses(spec);
  const expected = classes.map((c) => c.name);
  const matches = ds.classNames.length === classes.length && ds.classNames.every((n, i) => loose(n) === loose(expected[i]!));
  if (!matches) {
    throw new GraftError(
      'BAD_ARGUMENT',
      `Cannot apply task ${text} to dataset ${ds.source}: it has classes [${ds.classNames.join(', ')}] but the task needs the ${classes.length} original ${spec.dataset} classes [${expected.join(', ')}]. Apply the task to the dataset as loaded, not to one already filtered or from another dataset.`,
    );
  }
  const newLabel = new Int32Array(classes.length).fill(-1);
  spec.classes.forEach((orig, k) => {
    newLabel[orig] = k;
  });
  const indices: number[] = [];
  for (let i = 0; i < ds.y.length; i++) if (newLabel[ds.y[i]!]! >= 0) indices.push(i);
  const kept = take(ds, indices);
  const y = kept.y;
  for (let k = 0; k < y.length; k++) y[k] = newLabel[y[k]!]!;
  return { ...kept, classNames: taskClassNames(spec), source: `${ds.source} (${text})` };
}
