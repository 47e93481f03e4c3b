import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmod, mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GraftError } from '../../src/errors.js';
import { writeDirAtomic, writeFileAtomic } from '../../src/io/atomic.js';
import { rejectsWith } from '../helpers.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'graft-atomic-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});


describe('writeFileAtomic', () => {
  it('writes and replaces a file, leaving no temp files', async () => {
    const file = path.join(root, 'a.json');
    await writeFileAtomic(file, 'one');
    await writeFileAtomic(file, new Uint8Array([116, 119, 111]));
    expect(await readFile(file, 'utf8')).toBe('two');
    expect(await readdir(root)).toEqual(['a.json']);
  });

  it('names the path when the folder is missing', async () => {
    const file = path.join(root, 'missing', 'a.json');
    const e = await rejectsWith(writeFileAtomic(file, 'x'), 'WRITE_FAILED');
    expect(e.message).toContain(file);
    expect(e.message).toContain('does not exist');
    expect(await readdir(root)).toEqual([]);
  });

  const isRoot = process.getuid?.() === 0;
  if (isRoot) console.log('atomic.test: skipping the read-only folder case: running as root, which ignores folder permissions');
  it.skipIf(isRoot)('maps a read-only folder to a permission error and leaves no temp file', async () => {
    const ro = path.join(root, 'ro');
    await mkdir(ro);
    await chmod(ro, 0o555);
    const e = await rejectsWith(writeFileAtomic(path.join(ro, 'a.json'), 'x'), 'WRITE_FAILED');
    expect(e.message).toContain('Permission denied');
    expect(await readdir(ro)).toEqual([]);
    await chmod(ro, 0o755);
  });

  it('refuses a path below a regular file', async () => {
    await writeFile(path.join(root, 'plain'), 'x');
    await rejectsWith(writeFileAtomic(path.join(root, 'plain', 'a.json'), 'x'), 'WRITE_FAILED');
  });

  it('removes its temp file when the final rename fails', async () => {
    // A non-empty folder cannot be replaced by a file: the temp is written, the rename fails.
    await mkdir(path.join(root, 'target', 'inner'), { recursive: true });
    const e = await rejectsWith(writeFileAtomic(path.join(root, 'target'), 'data'), 'WRITE_FAILED');
    expect(e.message).toContain(path.join(root, 'target'));
    expect(await readdir(root)).toEqual(['target']);
  });
});

describe('writeDirAtomic', () => {
  const files = { 'model.json': '{"a":1}', 'weights.bin': new Uint8Array([1, 2, 3]), 'sub/extra.txt': 'e' };

  it('creates the folder (and its parents) with all files', async () => {
    const dir = path.join(root, 'runs', 'one');
    await writeDirAtomic(dir, files, { force: false });
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'sub', 'weights.bin']);
    expect(Array.from(await readFile(path.join(dir, 'weights.bin')))).toEqual([1, 2, 3]);
    expect(await readFile(path.join(dir, 'sub', 'extra.txt'), 'utf8')).toBe('e');
    expect(await readdir(path.join(root, 'runs'))).toEqual(['one']);
  });

  it('keeps an existing folder untouched without force', async () => {
    const dir = path.join(root, 'out');
    await mkdir(dir);
    await writeFile(path.join(dir, 'keep.txt'), 'precious');
    const e = await rejectsWith(writeDirAtomic(dir, files, { force: false }), 'OUTPUT_EXISTS');
    expect(e.message).toContain(dir);
    expect(e.message).toContain('--force');
    expect(await readdir(dir)).toEqual(['keep.txt']);
    expect(await readdir(root)).toEqual(['out']);
  });

  it('replaces an existing folder with force, leaving nothing aside', async () => {
    const dir = path.join(root, 'out');
    await mkdir(dir);
    await writeFile(path.join(dir, 'old.txt'), 'old');
    await writeDirAtomic(dir, { 'new.txt': 'new' }, { force: true });
    expect(await readdir(dir)).toEqual(['new.txt']);
    expect(await readdir(root)).toEqual(['out']);
  });

  it('cleans up its temp folder on failure and keeps the old folder', async () => {
    const dir = path.join(root, 'out');
    await mkdir(dir);
    await writeFile(path.join(dir, 'old.txt'), 'old');
    // 'a' is written as a file, so 'a/b' cannot be created below it.
    await rejectsWith(writeDirAtomic(dir, { a: 'x', 'a/b': 'y' }, { force: true }), 'WRITE_FAILED');
    expect(await readdir(root)).toEqual(['out']);
    expect(await readdir(dir)).toEqual(['old.txt']);
  });

  it('fails cleanly when the parent cannot be created', async () => {
    await writeFile(path.join(root, 'plain'), 'x');
    await rejectsWith(writeDirAtomic(path.join(root, 'plain', 'out'), files, { force: false }), 'WRITE_FAILED');
    expect(await readdir(root)).toEqual(['plain']);
  });

  it('refuses file names that escape the folder', async () => {
    await rejectsWith(writeDirAtomic(path.join(root, 'out'), { '../evil': 'x' }, { force: false }), 'BAD_ARGUMENT');
    await rejectsWith(writeDirAtomic(path.join(root, 'out'), { '/etc/evil': 'x' }, { force: false }), 'BAD_ARGUMENT');
    expect(await readdir(root)).toEqual([]);
  });
});
