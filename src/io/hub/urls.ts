/** The hub's URLs. Revisions like "refs/pr/1" are one path segment, so each part is encoded. */
const encodePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');

/** A file's bytes (the hub may redirect to a CDN). */
export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(file)}`;
}

/** The repo's file listing at a revision (JSON: sha, siblings[].rfilename). */
export function listingUrl(endpoint: string, repo: string, revision: string): string {
  return `${endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
}
