import * as path from 'node:path';
import { GraftError } from '../../errors.js';
import { isFile } from '../exists.js';
import { findCached, snapshotFile, snapshotKey, writeRef } from './cache.js';
import { chooseOnnxFile } from './choose.js';
import { externalDataFiles } from './external.js';
import { fetchIntoCache } from './fetch-file.js';
import { HubUnreachable, unreachableError } from './hub-errors.js';
import { listRepoFiles } from './listing.js';
import { fileMetadata } from './metadata.js';
import { hubSettings, type HubSettings } from './settings.js';
import { isCommit, parseHubSpec, type HubSpec } from './spec.js';
import { listingUrl, resolveUrl } from './urls.js';

export interface HubResolveOptions {
  /** Cache root. Default hubCacheDir(): $GRAFT_CACHE/hub, else $XDG_CACHE_HOME/graft/hub, else ~/.cache/graft/hub. */
  cacheDir?: string;
  /** Hub base URL. Default env HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Access token sent as `Authorization: Bearer` to the hub (never to its CDN). Default env HF_TOKEN. */
  token?: string;
  /** For the hub's listing and metadata requests. File bytes go through downloadFile (node:http/https). Default global fetch. */
  fetch?: typeof fetch;
  /** Called as bytes of each downloaded file arrive. */
  onProgress?: (p: { file: string; bytes: number; total?: number }) => void;
  /** Never touch the network: the cache or an error. Default env HF_HUB_OFFLINE (1/true/yes/on), else false. */
  offline?: boolean;
  /** Further attempts after a dropped connection, within this call. Default DOWNLOAD_DEFAULTS.retries. */
  retries?: number;
  /** Wait before the first retry, doubled for each next one. Default DOWNLOAD_DEFAULTS.retryDelayMs. */
  retryDelayMs?: number;
}

export interface HubModel {
  /** The .onnx file in the cache, its external data beside it. */
  file: string;
  repo: string;
  revision: string;
  /** The commit the file belongs to, when the hub (or the cache's ref) named it. */
  commit?: string;
  /** SHA-256 the hub gave for the file (LFS files), checked against the bytes when downloaded. */
  sha256?: string;
  /** Nothing was downloaded. */
  fromCache: boolean;
}

/**
 * `hf:ORG/NAME[@REVISION][:PATH.onnx]` → a local .onnx file. A pinned commit, or offline mode with
 * a known revision, is answered from the cache without the network; otherwise the hub is asked
 * which commit the revision is (a HEAD) and only a file not yet cached is downloaded. When the
 * hub cannot be reached, what the cache holds for the revision is used.
 */
export async function resolveHubModel(text: string, options: HubResolveOptions = {}): Promise<HubModel> {
  const spec = parseHubSpec(text);
  const settings = hubSettings(options);
  const fromCache = async (): Promise<HubModel | undefined> => {
    const hit = await findCached(settings.cacheDir, spec);
    return hit && { file: hit.file, repo: spec.repo, revision: spec.revision, ...(hit.commit !== undefined && { commit: hit.commit }), fromCache: true };
  };
  if (settings.offline || isCommit(spec.revision)) {
    const hit = await fromCache();
    if (hit) return hit;
  }
  const firstUrl = spec.path === undefined ? listingUrl(settings.endpoint, spec.repo, spec.revision) : resolveUrl(settings.endpoint, spec.repo, spec.revision, spec.path);
  if (settings.offline) throw unreachableError(firstUrl, 'offline: HF_HUB_OFFLINE or the offline option is set, and the cache has no copy', byHandPath(settings, spec));
  try {
    return await resolveOnline(spec, settings, options);
  } catch (e) {
    if (!(e instanceof HubUnreachable)) throw e;
    const hit = await fromCache();
    if (hit) return hit;
    throw unreachableError(e.url, e.message, byHandPath(settings, spec), e.cause);
  }
}

/** Where a file put by hand is found: the revision's own snapshot folder. */
function byHandPath(settings: HubSettings, spec: HubSpec): string {
  return snapshotFile(settings.cacheDir, spec.repo, snapshotKey(spec.revision), spec.path ?? 'model.onnx');
}

async function resolveOnline(spec: HubSpec, settings: HubSettings, options: HubResolveOptions): Promise<HubModel> {
  const fetchFn = options.fetch ?? fetch;
  const headers: Record<string, string> = settings.token === undefined ? {} : { authorization: `Bearer ${settings.token}` };
  let commit = isCommit(spec.revision) ? spec.revision : undefined;
  let file = spec.path;
  if (file === undefined) {
    const url = listingUrl(settings.endpoint, spec.repo, spec.revision);
    const listing = await listRepoFiles(url, headers, fetchFn, spec);
    commit = listing.commit ?? commit;
    file = chooseOnnxFile(listing.files, spec, `Repo ${spec.repo} at ${spec.revision} (${url})`);
  }
  const meta = await fileMetadata(resolveUrl(settings.endpoint, spec.repo, commit ?? spec.revision, file), headers, fetchFn, spec, file);
  commit = meta.commit ?? commit;
  // Bytes come from the commit, so a branch that moves between the HEAD and the GET cannot mix versions.
  const at = commit ?? spec.revision;
  const key = snapshotKey(at);
  const dest = snapshotFile(settings.cacheDir, spec.repo, key, file);
  const cached = await isFile(dest);
  const download = async (rel: string, sha256: string | undefined, size: number | undefined): Promise<void> => {
    const url = resolveUrl(settings.endpoint, spec.repo, at, rel);
    const target = snapshotFile(settings.cacheDir, spec.repo, key, rel);
    await fetchIntoCache(url, target, {
      headers,
      sha256,
      size,
      cacheDir: settings.cacheDir,
      ...(options.onProgress && { onProgress: (bytes: number, total: number | undefined) => options.onProgress?.({ file: rel, bytes, ...(total !== undefined && { total }) }) }),
      ...(options.retries !== undefined && { retries: options.retries }),
      ...(options.retryDelayMs !== undefined && { retryDelayMs: options.retryDelayMs }),
    }).catch((e: unknown) => {
      if (!(e instanceof GraftError) || e.code !== 'NETWORK') throw e;
      // downloadFile's reason, in the hub's one message; what arrived stays for the next call.
      const reason = /^Could not download \S+: (.*?)\. Check the network/s.exec(e.message)?.[1] ?? e.message;
      const err = unreachableError(url, reason, snapshotFile(settings.cacheDir, spec.repo, snapshotKey(spec.revision), rel), e);
      throw new GraftError('NETWORK', `${err.message} What arrived is kept in ${target}.part: running again resumes from it.`, { cause: e });
    });
  };
  if (!cached) await download(file, meta.sha256, meta.size);
  // External data lives beside the model, named relative to its folder.
  const folder = path.posix.dirname(file);
  for (const location of await externalDataFiles(dest)) {
    const rel = folder === '.' ? location : `${folder}/${location}`;
    if (await isFile(snapshotFile(settings.cacheDir, spec.repo, key, rel))) continue;
    const dataMeta = await fileMetadata(resolveUrl(settings.endpoint, spec.repo, at, rel), headers, fetchFn, spec, rel);
    await download(rel, dataMeta.sha256, dataMeta.size);
  }
  if (commit !== undefined && !isCommit(spec.revision)) await writeRef(settings.cacheDir, spec.repo, spec.revision, commit);
  return { file: dest, repo: spec.repo, revision: spec.revision, ...(commit !== undefined && { commit }), ...(meta.sha256 !== undefined && { sha256: meta.sha256 }), fromCache: cached };
}
