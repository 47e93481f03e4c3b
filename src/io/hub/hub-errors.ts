import { GraftError } from '../../errors.js';
import type { HubSpec } from './spec.js';

/** The hub could not be reached at all (no answer, DNS, refused): the caller may fall back to the cache. */
export class HubUnreachable extends Error {
  constructor(readonly url: string, reason: string, options?: { cause?: unknown }) {
    super(reason, options);
  }
}

/** Why a fetch failed, from undici's "fetch failed" and its cause (ECONNREFUSED, ENOTFOUND …). */
export function fetchFailure(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return e instanceof Error ? e.message : String(e);
}

/**
 * The one message for a hub graft cannot reach: the URL it tried, where to put the file by hand
 * so graft finds it, and HF_ENDPOINT for mirrors.
 */
export function unreachableError(url: string, reason: string, byHand: string, cause?: unknown): GraftError {
  return new GraftError(
    'NETWORK',
    `Could not get ${url} (${reason}). Connect to the network and retry; or download the file another way and put it at ${byHand}, where graft looks first; or set HF_ENDPOINT to a mirror of the hub.`,
    cause === undefined ? undefined : { cause },
  );
}

/** The hub's answer to a request that failed: which of repo, revision or file is missing, or the token that is needed. */
export function statusError(res: { status: number; headers: { get(name: string): string | null } }, url: string, spec: HubSpec, file: string | undefined, hasToken: boolean): GraftError {
  // The hub names what is missing in X-Error-Code; "EntryNotFound" is a file, the rest say so.
  const code = res.headers.get('x-error-code') ?? '';
  const hint = res.headers.get('x-error-message');
  const detail = `HTTP ${res.status}${code ? ` ${code}` : ''}${hint ? `: ${hint}` : ''}`;
  const tokenFix = hasToken
    ? 'The token in HF_TOKEN has no access to it: accept the model\'s terms on its page or use a token of an account that can read it.'
    : 'If it is private or gated, set HF_TOKEN to an access token of an account that can read it (and accept the model\'s terms on its page).';
  if (code === 'GatedRepo' || res.status === 401 || res.status === 403) {
    const what = code === 'RepoNotFound' ? `Repo ${spec.repo} was not found, or it is private` : `Repo ${spec.repo} refused access`;
    return new GraftError('MODEL_NOT_FOUND', `${what} (${detail}, ${url}). ${tokenFix} Check the name otherwise.`);
  }
  if (res.status === 404) {
    if (code === 'RevisionNotFound') return new GraftError('MODEL_NOT_FOUND', `Revision ${spec.revision} of ${spec.repo} was not found (${detail}, ${url}). Check the branch, tag or commit after "@".`);
    if (code === 'EntryNotFound' || (code === '' && file !== undefined)) {
      return new GraftError('MODEL_NOT_FOUND', `File ${file ?? '(unknown)'} was not found in ${spec.repo} at ${spec.revision} (${detail}, ${url}). Check the path after ":" against the repo's files.`);
    }
    return new GraftError('MODEL_NOT_FOUND', `Repo ${spec.repo} was not found (${detail}, ${url}). Check the name (ORG/NAME as on its page). ${tokenFix}`);
  }
  return new GraftError('NETWORK', `The hub answered ${detail} for ${url}. Retry later, or set HF_ENDPOINT to a mirror.`);
}
