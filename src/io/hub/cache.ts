import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { makeDirs, writeFileAtomic } from '../atomic.js';
import { isFile } from '../exists.js';
import { chooseOnnxFile } from './choose.js';
import { isCommit, type HubSpec } from './spec.js';

/**
 * The hub cache: CACHE/ORG--NAME/snapshots/KEY/PATH, where KEY is the commit (or, when the hub
 * named none, the revision), and CACHE/ORG--NAME/refs/REVISION holding the commit the revision
 * last resolved to, so an offline call can find the snapshot. Every name comes from a checked
 * HubSpec or a checked repo path, so nothing lands outside CACHE.
 */

export function repoFolder(cacheDir: string, repo: string): string {
  return path.join(cacheDir, repo.replace('/', '--'));
}

/** Snapshot folder name of a commit, or of a revision when no commit is known ("refs/pr/1" is one name). */
export function snapshotKey(revisionOrCommit: string): string {
  return encodeURIComponent(revisionOrCommit);
}

export function snapshotFile(cacheDir: string, repo: string, key: string, file: string): string {
  return path.join(repoFolder(cacheDir, repo), 'snapshots', key, ...file.split('/'));
}

function refFile(cacheDir: string, repo: string, revision: string): string {
  return path.join(repoFolder(cacheDir, repo), 'refs', encodeURIComponent(revision));
}

export async function readRef(cacheDir: string, repo: string, revision: string): Promise<string | undefined> {
  const text = await readFile(refFile(cacheDir, repo, revision), 'utf8').catch(() => undefined);
  const commit = text?.trim();
  return commit !== undefined && isCommit(commit) ? commit : undefined;
}

export async function writeRef(cacheDir: string, repo: string, revision: string, commit: string): Promise<void> {
  const file = refFile(cacheDir, repo, revision);
  await makeDirs(path.dirname(file));
  await writeFileAtomic(file, `${commit}\n`);
}

/** Relative paths of the files under `dir` (a snapshot is small: a model and its data). */
async function filesUnder(dir: string, prefix = '', depth = 0): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name.endsWith('.part')) continue;
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    if (e.isFile()) out.push(rel);
    else if (e.isDirectory() && depth < 8) out.push(...(await filesUnder(path.join(dir, e.name), rel, depth + 1)));
  }
  return out.sort();
}

export interface CacheHit {
  file: string;
  commit: string | undefined;
}

/**
 * The cached file for `spec` without touching the network: in the snapshot of the commit the
 * revision names (itself, or through its ref), else in the one kept under the revision's own name
 * (where a file put there by hand is found). Without a path, the .onnx is chosen as online.
 */
export async function findCached(cacheDir: string, spec: HubSpec): Promise<CacheHit | undefined> {
  const commit = isCommit(spec.revision) ? spec.revision : await readRef(cacheDir, spec.repo, spec.revision);
  const keys = [...(commit === undefined ? [] : [{ key: snapshotKey(commit), commit }]), { key: snapshotKey(spec.revision), commit: undefined }];
  for (const { key, commit: c } of keys) {
    const folder = path.join(repoFolder(cacheDir, spec.repo), 'snapshots', key);
    let rel = spec.path;
    if (rel === undefined) {
      const files = await filesUnder(folder);
      if (!files.some((f) => f.toLowerCase().endsWith('.onnx'))) continue;
      rel = chooseOnnxFile(files, spec, `The cached copy of ${spec.repo} in ${folder}`);
    }
    const file = snapshotFile(cacheDir, spec.repo, key, rel);
    if (await isFile(file)) return { file, commit: c ?? (isCommit(spec.revision) ? spec.revision : undefined) };
  }
  return undefined;
}
