import { GraftError, describeValue } from '../../errors.js';

/** A model on a Hugging Face-style hub: `hf:ORG/NAME[@REVISION][:PATH.onnx]`. */
export interface HubSpec {
  /** "ORG/NAME" (or a legacy "NAME" without an owner). */
  repo: string;
  /** Branch, tag or 40-hex commit. Default "main". */
  revision: string;
  /** The .onnx file inside the repo; absent: chosen from the repo's listing. */
  path?: string;
}

export const HUB_PREFIX = 'hf:';
export const DEFAULT_REVISION = 'main';
const FORM = 'hf:ORG/NAME[@REVISION][:PATH.onnx], e.g. hf:onnx-community/resnet-18@main:onnx/model.onnx';

/** Repo names as the hub allows them: letters, digits, "_", "-", "."; no "--" or ".." (the cache keys on "--"). */
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$/;
/** Git ref characters graft accepts (a subset of git's: no spaces, "~", "^", ":", "?", "*", "[", "\\"). */
const REVISION = /^[A-Za-z0-9_.\-/]{1,255}$/;
const COMMIT = /^[0-9a-f]{40}$/;

export function isHubSpec(text: string): boolean {
  return text.startsWith(HUB_PREFIX);
}

/** A revision that names one commit, so what it points to can never change. */
export function isCommit(revision: string): boolean {
  return COMMIT.test(revision);
}

function bad(text: string, why: string): GraftError {
  return new GraftError('BAD_ARGUMENT', `Model source ${describeValue(text)} is not a valid hub model: ${why}. Write ${FORM}.`);
}

/**
 * Why `p` is not a safe relative path inside a repo (undefined when it is): it becomes a path under
 * graft's cache, so no "..", ".", empty or absolute segments, no backslashes or control characters.
 */
export function unsafeRepoPath(p: string): string | undefined {
  if (p === '') return 'the path is empty';
  if (p.length > 1024) return 'the path is longer than 1024 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(p)) return 'the path holds a backslash or a control character';
  if (p.startsWith('/')) return 'the path is absolute';
  if (p.split('/').some((s) => s === '' || s === '.' || s === '..')) return 'the path has an empty, "." or ".." segment';
  return undefined;
}

export function parseHubSpec(text: string): HubSpec {
  if (!isHubSpec(text)) return fail(text, `it does not start with "${HUB_PREFIX}"`);
  const rest = text.slice(HUB_PREFIX.length);
  // ":" cannot occur in repo names or git refs, so the first one starts the path.
  const colon = rest.indexOf(':');
  const head = colon < 0 ? rest : rest.slice(0, colon);
  const filePath = colon < 0 ? undefined : rest.slice(colon + 1);
  const at = head.indexOf('@');
  const repo = at < 0 ? head : head.slice(0, at);
  const revision = at < 0 ? DEFAULT_REVISION : head.slice(at + 1);
  const parts = repo.split('/');
  if (repo === '') return fail(text, 'the repo name is missing');
  if (parts.length > 2 || !parts.every((p) => NAME.test(p)) || repo.includes('--') || repo.includes('..')) {
    return fail(text, `the repo ${describeValue(repo)} is not ORG/NAME made of letters, digits, "_", "-" and "." (no "--" or "..")`);
  }
  if (!REVISION.test(revision) || revision.includes('..') || revision.startsWith('/') || revision.endsWith('/') || revision.includes('//')) {
    return fail(text, `the revision ${describeValue(revision)} is not a branch, tag or commit name`);
  }
  if (filePath === undefined) return { repo, revision };
  const unsafe = unsafeRepoPath(filePath);
  if (unsafe) return fail(text, unsafe);
  if (!filePath.toLowerCase().endsWith('.onnx')) return fail(text, `the path ${describeValue(filePath)} does not end in .onnx`);
  return { repo, revision, path: filePath };
}

function fail(text: string, why: string): never {
  throw bad(text, why);
}
