import { GraftError } from '../../errors.js';
import { fetchFailure, HubUnreachable, statusError } from './hub-errors.js';
import type { HubSpec } from './spec.js';

export interface RepoListing {
  /** The commit the revision resolved to ("sha"). */
  commit: string | undefined;
  files: string[];
}

/** A listing larger than this is not a model repo (and is not read whole). */
const MAX_LISTING_BYTES = 64 * 2 ** 20;

/** The repo's files at the spec's revision, from the hub's model API. */
export async function listRepoFiles(url: string, headers: Record<string, string>, fetchFn: typeof fetch, spec: HubSpec): Promise<RepoListing> {
  let res: Response;
  let text: string;
  try {
    res = await fetchFn(url, { headers: { accept: 'application/json', ...headers } });
    if (!res.ok) {
      await res.body?.cancel();
      throw statusError(res, url, spec, undefined, headers.authorization !== undefined);
    }
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > MAX_LISTING_BYTES) throw new GraftError('NETWORK', `The hub's listing ${url} is ${length} bytes, more than a model repo's listing (${MAX_LISTING_BYTES}). Check HF_ENDPOINT, or name the file as hf:${spec.repo}@${spec.revision}:PATH.onnx.`);
    text = await res.text();
  } catch (e) {
    if (e instanceof GraftError) throw e;
    throw new HubUnreachable(url, fetchFailure(e), { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const siblings = (json as { siblings?: unknown } | undefined)?.siblings;
  if (!Array.isArray(siblings)) {
    throw new GraftError('NETWORK', `The hub's listing ${url} is not a JSON object with "siblings" (received ${JSON.stringify(text.slice(0, 80))}). Check HF_ENDPOINT, or name the file as hf:${spec.repo}@${spec.revision}:PATH.onnx.`);
  }
  const files = siblings.map((s: unknown) => (s as { rfilename?: unknown } | null)?.rfilename).filter((f): f is string => typeof f === 'string');
  const sha = (json as { sha?: unknown }).sha;
  return { commit: typeof sha === 'string' && /^[0-9a-f]{40}$/.test(sha) ? sha : undefined, files };
}
