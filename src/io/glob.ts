import { readdir } from 'node:fs/promises';
import * as path from 'node:path';

/**
 * File-name patterns expanded by graft itself, so `graft predict 'photos/*.jpg'` works when the
 * shell leaves the quotes alone (and on shells that do not expand). Node 20 has no fs.glob.
 *
 * `*` any run of characters within one path segment, `?` one character, `[abc]` `[a-z]` `[!a]`
 * one of a set, `{png,jpg}` alternatives, `**` any number of folders (zero included). A `*` or `?`
 * never matches a leading dot, and `**` never enters hidden folders or symlinked folders (no loops).
 */

const MAGIC = /[*?[{]/;

/** Whether `arg` contains pattern characters. */
export function hasGlobMagic(arg: string): boolean {
  return MAGIC.test(arg);
}

/** `a{b,c}d` → [abd, acd]; nested braces expand too. A brace without a comma stays literal. */
export function expandBraces(pattern: string): string[] {
  let depth = 0;
  let open = -1;
  const commas: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '{') {
      if (depth === 0) open = i;
      depth++;
    } else if (ch === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        if (commas.length === 0) {
          // "{x}" is literal; keep looking after it.
          return expandBraces(pattern.slice(i + 1)).map((rest) => pattern.slice(0, i + 1) + rest);
        }
        const parts: string[] = [];
        let from = open + 1;
        for (const c of commas) {
          parts.push(pattern.slice(from, c));
          from = c + 1;
        }
        parts.push(pattern.slice(from, i));
        const before = pattern.slice(0, open);
        const after = pattern.slice(i + 1);
        return parts.flatMap((p) => expandBraces(before + p + after));
      }
    } else if (ch === ',' && depth === 1) commas.push(i);
  }
  return [pattern];
}

/** A regular expression for one path segment (no `/`, no braces). */
function segmentRegex(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let set = segment.slice(i + 1, end);
        const negate = set.startsWith('!') || set.startsWith('^');
        if (negate) set = set.slice(1);
        re += `[${negate ? '^' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  // A leading wildcard does not match a hidden name, as in the shells.
  const hiddenGuard = /^[*?[]/.test(segment) ? '(?!\\.)' : '';
  return new RegExp(`^${hiddenGuard}${re}$`, 's');
}

async function entries(dir: string): Promise<import('node:fs').Dirent[]> {
  try {
    return await readdir(dir === '' ? '.' : dir, { withFileTypes: true });
  } catch {
    return []; // a folder that is missing or unreadable matches nothing, as in the shells
  }
}

async function walk(dir: string, segments: readonly string[], out: Set<string>): Promise<void> {
  const [segment, ...rest] = segments;
  if (segment === undefined) return;
  if (segment === '**') {
    await walk(dir, rest, out); // zero folders
    for (const e of await entries(dir)) {
      if (e.isDirectory() && !e.name.startsWith('.')) await walk(path.join(dir, e.name), segments, out);
    }
    return;
  }
  if (!hasGlobMagic(segment)) {
    const next = path.join(dir, segment);
    if (rest.length === 0) {
      const match = (await entries(dir)).find((e) => e.name === segment);
      if (match) out.add(next);
    } else await walk(next, rest, out);
    return;
  }
  const re = segmentRegex(segment);
  for (const e of await entries(dir)) {
    if (!re.test(e.name)) continue;
    const next = path.join(dir, e.name);
    if (rest.length === 0) out.add(next);
    else if (e.isDirectory() || e.isSymbolicLink()) await walk(next, rest, out);
  }
}

/**
 * Paths matching `pattern` (files and folders alike; the caller decides what it takes), sorted.
 * Relative patterns give relative paths, as typed. `/` separates segments.
 */
export async function expandGlob(pattern: string): Promise<string[]> {
  const out = new Set<string>();
  for (const p of expandBraces(pattern)) {
    const absolute = p.startsWith('/');
    const segments = p.split('/').filter((s) => s !== '');
    // Segments before the first pattern character are a plain folder to start in.
    const firstMagic = segments.findIndex((s) => hasGlobMagic(s));
    if (firstMagic < 0) {
      out.add(p);
      continue;
    }
    const base = path.join(absolute ? '/' : '', ...segments.slice(0, firstMagic));
    await walk(base === '.' && !absolute ? '' : base, segments.slice(firstMagic), out);
  }
  return [...out].sort();
}
