import { GraftError } from '../../errors.js';
import { fetchFailure, HubUnreachable, statusError } from './hub-errors.js';
import type { HubSpec } from './spec.js';

/** What the hub says about one file before it is downloaded. */
export interface HubFileMetadata {
  /** X-Repo-Commit: the commit the revision resolved to. */
  commit: string | undefined;
  /** SHA-256 of the bytes, for files in LFS (their ETag is it); undefined for plain git files. */
  sha256: string | undefined;
  /** X-Linked-Size or Content-Length. */
  size: number | undefined;
}

const SHA256 = /^[0-9a-f]{64}$/;
const COMMIT = /^[0-9a-f]{40}$/;
const MAX_REDIRECTS = 5;

/** An ETag without quotes or its weak marker. */
function bareEtag(v: string | null): string | undefined {
  return v?.replace(/^W\//, '').replace(/^"|"$/g, '') || undefined;
}

function sizeOf(v: string | null): number | undefined {
  return v !== null && /^\d+$/.test(v) ? Number(v) : undefined;
}

/**
 * HEAD on the file's resolve URL. The hub answers an LFS file with a redirect to its CDN; the
 * redirect itself carries X-Repo-Commit and X-Linked-Etag (the SHA-256), so redirects are not
 * followed off the hub. Redirects within the hub (a renamed repo) are.
 */
export async function fileMetadata(url: string, headers: Record<string, string>, fetchFn: typeof fetch, spec: HubSpec, file: string): Promise<HubFileMetadata> {
  let current = url;
  for (let hop = 0; ; hop++) {
    let res: Response;
    try {
      res = await fetchFn(current, { method: 'HEAD', redirect: 'manual', headers: { 'accept-encoding': 'identity', ...headers } });
    } catch (e) {
      throw new HubUnreachable(current, fetchFailure(e), { cause: e });
    }
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, current);
      if (next.origin === new URL(url).origin && hop < MAX_REDIRECTS) {
        current = next.href;
        continue;
      }
    } else if (!res.ok) {
      throw statusError(res, current, spec, file, headers.authorization !== undefined);
    }
    const linked = bareEtag(res.headers.get('x-linked-etag'));
    const etag = bareEtag(res.headers.get('etag'));
    const commit = res.headers.get('x-repo-commit') ?? undefined;
    if (commit !== undefined && !COMMIT.test(commit)) {
      throw new GraftError('NETWORK', `The hub answered ${current} with X-Repo-Commit ${JSON.stringify(commit)}, not a 40-hex commit. HF_ENDPOINT may point at something that is not a hub; check it.`);
    }
    const sha = [linked, etag].find((t) => t !== undefined && SHA256.test(t.toLowerCase()));
    return { commit, sha256: sha?.toLowerCase(), size: sizeOf(res.headers.get('x-linked-size')) ?? sizeOf(res.headers.get('content-length')) };
  }
}
