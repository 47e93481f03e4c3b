import { GraftError } from '../errors.js';
import type { TaskMode } from './task.js';

/**
 * Task specs for the user's own images. The classes are only known once the files are listed, so
 * parsing needs no files and resolveUserClasses checks the names later, against what was found.
 *
 *   folder:PATH                              every class subfolder of PATH, sorted by name
 *   csv:FILE                                 every label of FILE's path,label rows, sorted
 *   folder:PATH:classes=cat,dog              keep these, labelled in the order given
 *   folder:PATH:binary=other,cat             negative → 0, positive → 1
 *   folder:PATH:exclude=blurry               every class but these
 *   folder:PATH:classes=kitty>cat,puppy>dog  renames: folder "kitty" becomes class "cat"
 *
 * Only the last `:classes=`, `:binary=` or `:exclude=` is the modifier, so a PATH containing ':'
 * (C:\photos, a:b) works as written. Quote the whole spec in a shell: `>` is a redirection there.
 */

export type UserTaskKind = 'folder' | 'csv';

export interface UserTaskSpec {
  kind: UserTaskKind;
  /** The folder or CSV file as written (not resolved: parsing touches no files). */
  path: string;
  mode: TaskMode;
  /** Class names as in the data (folder names, CSV labels), in the order written; empty for 'all'. */
  names: string[];
  /** The display name of each of `names` (its rename, else itself); same length as names. */
  displayNames: string[];
}

export const USER_TASK_FORMS =
  'folder:PATH (one subfolder per class), csv:FILE (path,label rows), each optionally followed by :classes=a,b, :binary=negative,positive or :exclude=a,b; rename with old>new, e.g. folder:photos:classes=kitty>cat,puppy>dog';

const MODIFIER = /:(classes|binary|exclude)=/gi;

function bad(spec: string, problem: string, hint: string): GraftError {
  return new GraftError('BAD_TASK_SPEC', `Task spec ${JSON.stringify(spec)}: ${problem}. ${hint}`);
}

/** True when `text` names the user's data (folder: or csv:) rather than a built-in dataset. */
export function isUserTaskSpec(text: string): boolean {
  return /^\s*(folder|csv):/i.test(text);
}

/** Parses folder:/csv: specs; throws BAD_TASK_SPEC naming the bad part and the valid forms. */
export function parseUserTaskSpec(text: string): UserTaskSpec {
  const spec = text.trim();
  const m = /^(folder|csv):/i.exec(spec);
  if (!m) throw bad(text, 'it does not start with folder: or csv:', `Valid forms: ${USER_TASK_FORMS}.`);
  const kind = m[1]!.toLowerCase() as UserTaskKind;
  const body = spec.slice(m[0].length);
  const modifiers = [...body.matchAll(MODIFIER)];
  const last = modifiers[modifiers.length - 1];
  const path = last ? body.slice(0, last.index) : body;
  if (path.trim() === '') {
    throw bad(text, `no ${kind === 'folder' ? 'folder' : 'CSV file'} after "${kind}:"`, `Write e.g. ${kind === 'folder' ? 'folder:photos' : 'csv:labels.csv'}. Valid forms: ${USER_TASK_FORMS}.`);
  }
  if (!last) return { kind, path, mode: 'all', names: [], displayNames: [] };

  const mode = last[1]!.toLowerCase() as Exclude<TaskMode, 'all'>;
  const items = body.slice(last.index + last[0].length).split(',').map((t) => t.trim());
  if (items.some((t) => t === '')) {
    throw bad(text, `the ${mode} list has an empty entry`, `Write ${mode}=a,b with class names separated by single commas.`);
  }
  const names: string[] = [];
  const displayNames: string[] = [];
  for (const item of items) {
    const parts = item.split('>').map((t) => t.trim());
    if (parts.length > 2 || parts.some((p) => p === '')) {
      throw bad(text, `${JSON.stringify(item)} is not a class or old>new rename`, 'Write a rename as old>new, e.g. kitty>cat, one > per class.');
    }
    if (parts.length === 2 && mode === 'exclude') {
      throw bad(text, `exclude cannot rename (${JSON.stringify(item)})`, 'Rename the classes you keep with classes=old>new,… instead.');
    }
    names.push(parts[0]!);
    displayNames.push(parts[1] ?? parts[0]!);
  }
  const dupName = names.find((n, i) => names.indexOf(n) !== i);
  if (dupName !== undefined) throw bad(text, `class ${JSON.stringify(dupName)} is listed twice`, 'List each class once.');
  const dupDisplay = displayNames.find((n, i) => displayNames.indexOf(n) !== i);
  if (dupDisplay !== undefined) throw bad(text, `two classes would both be called ${JSON.stringify(dupDisplay)}`, 'Give each class its own name (merging classes is not supported).');
  if (mode === 'binary' && names.length !== 2) {
    throw bad(text, `binary needs exactly 2 classes (negative, positive) but got ${names.length}`, `Write e.g. ${kind}:${path}:binary=other,cat.`);
  }
  if (mode === 'classes' && names.length < 2) {
    // One class left is also what an unquoted `classes=kitty>cat,…` leaves after the shell's redirection.
    throw bad(text, `classes needs at least 2 classes but got ${names.length}`, `List two or more, e.g. ${kind}:${path}:classes=cat,dog; in a shell, quote a spec that holds '>'.`);
  }
  return { kind, path, mode, names, displayNames };
}

/** Canonical text: `parseUserTaskSpec(formatUserTaskSpec(s))` equals `s`. */
export function formatUserTaskSpec(spec: UserTaskSpec): string {
  const head = `${spec.kind}:${spec.path}`;
  if (spec.mode === 'all') return head;
  const items = spec.names.map((n, i) => (spec.displayNames[i] === n ? n : `${n}>${spec.displayNames[i]!}`));
  return `${head}:${spec.mode}=${items.join(',')}`;
}

/** Lower-case letters and digits only, as built-in class names match ("Cat", "cat_", "CAT"). */
function loose(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** The task's classes chosen from the classes found in the data. */
export interface ResolvedClasses {
  /** Class names as found in the data, in new-label order: picked[k] becomes label k. */
  picked: string[];
  /** Display name of each label. */
  names: string[];
}

/**
 * Picks the task's classes from `found` (every class in the data, sorted). A name matches exactly,
 * else by letters and digits ignoring case when that is unambiguous. `where` names the data in errors.
 */
export function resolveUserClasses(spec: UserTaskSpec, found: readonly string[], where: string): ResolvedClasses {
  const text = formatUserTaskSpec(spec);
  const listing = `Classes in ${where}: ${found.join(', ')}`;
  const find = (name: string): string => {
    if (found.includes(name)) return name;
    const near = found.filter((f) => loose(f) === loose(name) && loose(name) !== '');
    if (near.length === 1) return near[0]!;
    throw bad(text, `${where} has no class ${JSON.stringify(name)}`, `${listing}.`);
  };
  if (spec.mode === 'all') return { picked: [...found], names: [...found] };
  const chosen = spec.names.map(find);
  if (spec.mode === 'exclude') {
    const kept = found.filter((f) => !chosen.includes(f));
    if (kept.length < 2) throw bad(text, `excluding ${chosen.length} of ${found.length} classes leaves ${kept.length}`, `A classifier needs at least 2 classes. ${listing}.`);
    return { picked: kept, names: [...kept] };
  }
  return { picked: chosen, names: [...spec.displayNames] };
}
