import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GraftError } from '../../src/errors.js';
import { writeDirAtomic, writeFileAtomic } from '../../src/io/atomic.js';
import { deadPid, injectFault, snapshot } from './fault-helpers.js';

const DIST_ATOMIC = path.resolve(__dirname, '../../dist/io/atomic.js');

/** Runs writeFileAtomic(target) in a child process as user nobody (65534) and returns its error. */
async function writeAsNobody(dir: string, target: string): Promise<{ code: string; message: string }> {
  await chmod(dir, 0o755); // mkdtemp makes 0700: nobody could not reach the folder at all
  const script = `import(${JSON.stringify(`file://${DIST_ATOMIC}`)}).then((m) => m.writeFileAtomic(process.argv[1], 'x')).then(() => console.log(JSON.stringify({ code: 'none', message: '' })), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })));`;
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['-e', script, target], { uid: 65534, gid: 65534 }, (e, out, err) => (e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out))),
  );
  return JSON.parse(stdout) as { code: string; message: string };
}
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

  it('maps a read-only folder to a permission error and leaves no temp file (a real EACCES)', async () => {
    const ro = path.join(root, 'ro');
    await mkdir(ro);
    await chmod(ro, 0o555);
    const target = path.join(ro, 'a.json');
    // Root ignores folder permissions, so as root the write runs in a child as user nobody.
    const r = process.getuid?.() === 0 ? await writeAsNobody(root, target) : await writeFileAtomic(target, 'x').then(() => ({ code: 'none', message: '' }), (e: GraftError) => ({ code: e.code, message: e.message }));
    expect(r.code).toBe('WRITE_FAILED');
    expect(r.message).toContain(`Permission denied writing ${target}`);
    expect(r.message).toContain('another --out');
    expect(r.message).toContain('was changed');
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

describe('disk faults (injected through the write seam)', () => {
  let undo: (() => number) | undefined;
  afterEach(() => {
    undo?.();
    undo = undefined;
  });
  const big = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => i % 251);

  it('a full disk midway through a file: clear error, temp removed, earlier file byte-identical', async () => {
    const file = path.join(root, 'cache.bin');
    await writeFileAtomic(file, 'earlier content');
    const before = await snapshot(root);
    // The second 1 MiB chunk fails, so the temp file really is half-written when the error comes.
    undo = injectFault('write', 'ENOSPC', { nth: 2 });
    const e = await rejectsWith(writeFileAtomic(file, big), 'WRITE_FAILED');
    expect(undo()).toBe(2);
    expect(e.message).toContain(`Cannot write ${file}: no space left`);
    expect(e.message).toContain('Free some space, or write to another disk (another --out)');
    expect(e.message).toContain(`Nothing at ${file} was changed`);
    expect(await snapshot(root)).toEqual(before);
  });

  for (const [code, words] of [
    ['ENOSPC', 'no space left'],
    ['EROFS', 'read-only file system'],
    ['EACCES', 'Permission denied'],
    ['EDQUOT', 'no space left on the disk (or quota)'],
  ] as const) {
    for (const step of ['mkdir', 'open', 'write', 'sync', 'rename'] as const) {
      it(`${code} at ${step} while replacing a run folder (--force) keeps the old folder byte-identical`, async () => {
        const dir = path.join(root, 'run');
        await writeDirAtomic(dir, { 'model.json': '{"v":1}', 'weights.bin': big, 'run.json': '{}' }, { force: false });
        const before = await snapshot(root);
        undo = injectFault(step, code);
        const e = await rejectsWith(writeDirAtomic(dir, { 'model.json': '{"v":2}', 'weights.bin': big.map((b) => b ^ 1), 'run.json': '{"v":2}' }, { force: true }), 'WRITE_FAILED');
        expect(undo(), `the ${step} step ran`).toBeGreaterThan(0);
        expect(e.message).toContain(dir);
        expect(e.message).toContain(words);
        expect(e.message).toContain('another --out');
        expect(e.message).toContain(`Nothing at ${dir} was changed`);
        expect(await snapshot(root)).toEqual(before);
      });
    }
  }

  it('a failure of the rename that moves the new folder in puts the old one back', async () => {
    const dir = path.join(root, 'run');
    await writeDirAtomic(dir, { 'a.txt': 'old' }, { force: false });
    const before = await snapshot(root);
    // Rename 1 moves the old folder aside; rename 2 (new folder into place) fails.
    undo = injectFault('rename', 'EIO', { nth: 2 });
    const e = await rejectsWith(writeDirAtomic(dir, { 'a.txt': 'new' }, { force: true }), 'WRITE_FAILED');
    expect(e.message).toContain('EIO');
    expect(await snapshot(root)).toEqual(before);
  });
});

describe('leftovers of killed writers', () => {
  it('writeFileAtomic deletes dead writers’ temps of its target, keeping live ones and other targets’', async () => {
    const dead = deadPid();
    const names = [`.a.json.tmp-${dead}-aaaaaaaaaaaa`, `.a.json.tmp-${process.pid}-bbbbbbbbbbbb`, `.b.json.tmp-${dead}-cccccccccccc`];
    for (const n of names) await writeFile(path.join(root, n), 'partial');
    await writeFileAtomic(path.join(root, 'a.json'), 'x');
    expect((await readdir(root)).sort()).toEqual(['.a.json.tmp-' + process.pid + '-bbbbbbbbbbbb', `.b.json.tmp-${dead}-cccccccccccc`, 'a.json'].sort());
  });

  it('writeDirAtomic refuses a path whose previous copy a killed --force replace moved aside, unless forced', async () => {
    const dead = deadPid();
    const old = path.join(root, `.out.old-${dead}-aaaaaaaaaaaa`);
    const partial = path.join(root, `.out.tmp-${dead}-bbbbbbbbbbbb`);
    await mkdir(old);
    await writeFile(path.join(old, 'a.txt'), 'previous');
    await mkdir(partial);
    const e = await rejectsWith(writeDirAtomic(path.join(root, 'out'), { 'a.txt': 'new' }, { force: false }), 'OUTPUT_EXISTS');
    expect(e.message).toContain('half-finished');
    expect(e.message).toContain(old);
    expect(e.message).toContain('--force');
    expect((await readdir(root)).sort()).toEqual([path.basename(old), path.basename(partial)].sort());
    await writeDirAtomic(path.join(root, 'out'), { 'a.txt': 'new' }, { force: true });
    expect(await readdir(root)).toEqual(['out']);
  });

  it('writeDirAtomic without force clears a dead writer’s partial copy and writes', async () => {
    await mkdir(path.join(root, `.out.tmp-${deadPid()}-bbbbbbbbbbbb`));
    await writeDirAtomic(path.join(root, 'out'), { 'a.txt': 'new' }, { force: false });
    expect(await readdir(root)).toEqual(['out']);
  });
});
