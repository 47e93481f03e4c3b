import { readFile, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';

/**
 * Folders no --force may replace or write into, whoever made them: the file-system root, the home
 * folder, the working folder and every folder above it, the experiment file's folder and every
 * folder above it, and mount points. Replacing any of these would take the user's own files with it
 * (`--out . --force` once erased a working folder, .git included).
 */

/** The real path of `p`, or its resolved path where it does not exist (yet). */
async function real(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch {
    return path.resolve(p);
  }
}

/** `inner` is `outer` or lies inside it. */
export function isWithin(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Mount points listed by the kernel (Linux); none elsewhere, where the device check still applies. */
async function mountPoints(): Promise<Set<string>> {
  try {
    const text = await readFile('/proc/self/mountinfo', 'utf8');
    // Field 5 is the mount point, with spaces and the like written as octal escapes.
    return new Set(text.split('\n').map((l) => l.split(' ')[4]).filter((m): m is string => !!m).map((m) => m.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))));
  } catch {
    return new Set();
  }
}

/** Why `target` must never be replaced, in words; undefined when it may be (if graft wrote it). */
export async function protectedReason(target: string, options: { configFile?: string | undefined } = {}): Promise<string | undefined> {
  const t = await real(target);
  if (path.dirname(t) === t) return 'it is the root of the file system';
  const home = await real(homedir());
  if (t === home) return 'it is your home folder';
  const cwd = await real(process.cwd());
  if (t === cwd) return 'it is the current folder';
  if (isWithin(cwd, t)) return `it holds the current folder (${cwd})`;
  if (options.configFile !== undefined) {
    const configDir = path.dirname(await real(options.configFile));
    if (isWithin(configDir, t)) return `it holds the experiment file ${options.configFile}`;
  }
  if ((await mountPoints()).has(t)) return 'it is a mount point';
  try {
    const [own, parent] = await Promise.all([stat(t), stat(path.dirname(t))]);
    if (own.dev !== parent.dev) return 'it is a mount point (another device than its parent folder)';
  } catch {
    // Missing: nothing there to protect.
  }
  return undefined;
}
