import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Hugging Face hub's HTTP behaviour, on 127.0.0.1: the model API
 * listing, `resolve` answering with a 302 to a separate "CDN" server (another origin) and the
 * X-Repo-Commit / X-Linked-Etag / X-Linked-Size headers, 401 for private repos without a token,
 * 404s with X-Error-Code, and a CDN that honours Range with 206.
 */
export interface FakeRepo {
  /** branch or tag → commit */
  refs: Record<string, string>;
  /** commit → path → bytes */
  commits: Record<string, Record<string, Uint8Array>>;
  /** Requires `Authorization: Bearer <token>`. */
  token?: string;
}

export interface SeenRequest {
  server: 'hub' | 'cdn';
  method: string;
  url: string;
  range: string | undefined;
  authorization: string | undefined;
}

export interface FakeHub {
  endpoint: string;
  repos: Record<string, FakeRepo>;
  seen: SeenRequest[];
  /** CDN hooks: bytes served instead of the real ones (a wrong mirror), a drop after N bytes on the next request. */
  cdn: { replace?: (bytes: Uint8Array) => Uint8Array; dropNextAt?: number; drop?: () => void; ignoreRange?: boolean };
  close(): Promise<void>;
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function record(seen: SeenRequest[], server: 'hub' | 'cdn', req: http.IncomingMessage): void {
  seen.push({ server, method: req.method ?? '', url: req.url ?? '', range: req.headers.range, authorization: req.headers.authorization });
}

export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const seen: SeenRequest[] = [];
  const cdnState: FakeHub['cdn'] = {};
  const blobs = new Map<string, Uint8Array>();
  const cdn = http.createServer((req, res) => {
    record(seen, 'cdn', req);
    const blob = blobs.get((req.url ?? '').replace(/^\/blobs\//, ''));
    if (!blob) return void res.writeHead(404).end();
    const body = Buffer.from(cdnState.replace ? cdnState.replace(blob) : blob);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const from = m && !cdnState.ignoreRange ? Number(m[1]) : 0;
    const part = body.subarray(from);
    res.writeHead(from > 0 ? 206 : 200, { 'content-length': part.length, 'accept-ranges': 'bytes', ...(from > 0 && { 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` }) });
    const dropAt = cdnState.dropNextAt;
    if (dropAt === undefined) return void res.end(part);
    cdnState.dropNextAt = undefined;
    res.write(part.subarray(0, dropAt));
    // Dropped when the client says it has the bytes (a reset racing the data could discard them).
    cdnState.drop = () => void (res.destroyed || res.destroy());
    setTimeout(cdnState.drop, 2000).unref();
  });
  const cdnUrl = await listen(cdn);

  const hub = http.createServer((req, res) => {
    record(seen, 'hub', req);
    const url = new URL(req.url ?? '/', 'http://hub');
    const fail = (status: number, code: string): void => void res.writeHead(status, { 'x-error-code': code, 'x-error-message': code }).end(JSON.stringify({ error: code }));
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const match = api ?? resolve;
    if (!match) return fail(404, 'NotFound');
    const repo = repos[match[1]!];
    if (!repo) return fail(404, 'RepoNotFound');
    if (repo.token !== undefined && req.headers.authorization !== `Bearer ${repo.token}`) return fail(401, 'GatedRepo');
    const revision = decodeURIComponent(match[2]!);
    const commit = repo.commits[revision] ? revision : repo.refs[revision];
    const files = commit === undefined ? undefined : repo.commits[commit];
    if (commit === undefined || !files) return fail(404, 'RevisionNotFound');
    if (api) {
      const json = JSON.stringify({ id: match[1], sha: commit, siblings: Object.keys(files).map((rfilename) => ({ rfilename })) });
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(json);
    }
    const file = decodeURIComponent(resolve![3]!);
    const bytes = files[file];
    if (!bytes) return fail(404, 'EntryNotFound');
    const sha = sha256(bytes);
    blobs.set(sha, bytes);
    res.writeHead(302, { location: `${cdnUrl}/blobs/${sha}`, 'x-repo-commit': commit, 'x-linked-etag': `"${sha}"`, 'x-linked-size': String(bytes.length), etag: `"${sha}"` }).end();
  });
  const endpoint = await listen(hub);
  return {
    endpoint,
    repos,
    seen,
    cdn: cdnState,
    close: async () => {
      for (const s of [hub, cdn]) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    },
  };
}
