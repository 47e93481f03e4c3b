import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OWNER_FILE } from '../../src/io/ownership.js';
import { protectedReason } from '../../src/io/protected-paths.js';
import { assertRunDirFree, loadModel, saveRun } from '../../src/io/run-dir.js';
import { writeFaults } from '../../src/io/atomic.js';
import { exportModel } from '../../src/io/export-model.js';
import { buildMlp } from '../../src/models/mlp.js';
import { rejectsWith, testRunInfo, useBackend } from '../helpers.js';
import { cliInProcess as graft } from './in-process.js';

/**
 * "Your files are safe": every output flag (--out, --to, report --out, --log, an experiment's out:)
 * on something graft did not write — a user's folder or file, the working folder, an ancestor,
 * home, a symlink, a mount point — is refused with a clear message, and every file that was there
 * is byte-identical afterwards. What graft wrote itself is still replaced with --force.
 */

const DATA = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(DATA, 'train-images-idx3-ubyte.gz')) || existsSync(path.join(DATA, 'train-images-idx3-ubyte'));
if (!haveData) console.log(`files-safe: skipping the cases that train: no Fashion-MNIST in ${DATA} (apt-get install dataset-fashion-mnist, or set GRAFT_DATA_DIR)`);
const TRAIN = ['train', '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--per-class', '20', '--epochs', '1', '--data-dir', DATA, '--offline', '--backend', 'wasm', '--engine', 'tfjs'];

beforeAll(useBackend);

let root: string;
const cwd = process.cwd();
const home = process.env.HOME;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'graft-safe-'));
});
afterEach(() => {
  process.chdir(cwd);
  process.env.HOME = home;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every entry under `dir` (not following symlinks): its kind and a hash of its bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string, rel: string): void => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(p)}`;
    else if (st.isDirectory()) {
      out[rel] = 'dir';
      for (const n of readdirSync(p).sort()) walk(path.join(p, n), rel ? `${rel}/${n}` : n);
    } else out[rel] = `file ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
  };
  walk(dir, '');
  return out;
}

let n = 0;
/** A fresh folder holding a user's files: a thesis, notes and a fake .git. */
function userFolder(): string {
  const d = path.join(root, `user-${n++}`);
  mkdirSync(path.join(d, '.git'), { recursive: true });
  writeFileSync(path.join(d, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(path.join(d, 'thesis.tex'), '\\chapter{Results}\n');
  mkdirSync(path.join(d, 'figures'));
  writeFileSync(path.join(d, 'figures', 'plot.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
  return d;
}

const info = testRunInfo({ task: 'fashion-mnist:binary=tshirt-top,sandal', classNames: ['tshirt-top', 'sandal'], sampleShape: [28, 28], preprocessing: { pixelScale: 1 / 255 } });
async function graftRun(dir: string): Promise<string> {
  const model = buildMlp({ classes: 2, hidden: 4 });
  await saveRun(dir, model, info);
  model.dispose();
  return dir;
}

/** Runs graft and expects it refused (exit 2, message matching `why`) with `watched` unchanged. */
async function refused(args: string[], watched: string, why: RegExp): Promise<string> {
  const before = snapshot(watched);
  const r = await graft(args);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(why);
  expect(r.stderr).not.toMatch(/at .*\.[jt]s:\d+/);
  expect(snapshot(watched)).toEqual(before);
  return r.stderr;
}

describe('--force never replaces what graft did not write', () => {
  it('a user folder: refused, naming what is there', async () => {
    const d = userFolder();
    const msg = await refused([...TRAIN, '--out', d, '--force'], d, /Refusing to replace .*not written by graft/);
    expect(msg).toMatch(/thesis\.tex/);
  });

  it('a plain file', async () => {
    const d = userFolder();
    await refused([...TRAIN, '--out', path.join(d, 'thesis.tex'), '--force'], d, /it is a file, not a folder graft wrote/);
  });

  it('the current folder, and any folder above it', async () => {
    const d = userFolder();
    process.chdir(path.join(d, 'figures'));
    await refused([...TRAIN, '--out', '.', '--force'], d, /it is the current folder/);
    await refused([...TRAIN, '--out', '..', '--force'], d, /it holds the current folder/);
    await refused([...TRAIN, '--out', '/', '--force'], d, /root of the file system/);
  });

  it('the home folder', async () => {
    const d = userFolder();
    process.env.HOME = d;
    await refused([...TRAIN, '--out', d, '--force'], d, /your home folder/);
  });

  it('a mount point', async () => {
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m): m is string => !!m && m !== '/' && !m.includes('\\') && existsSync(m) && lstatSync(m).isDirectory());
    const m = mounts.find((p) => p === '/proc') ?? mounts[0]!;
    expect(await protectedReason(m)).toMatch(/mount point/);
    const r = await graft([...TRAIN, '--out', m, '--force']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/mount point/);
  });

  it('a symbolic link, even to a folder graft wrote', async () => {
    const d = userFolder();
    const run = await graftRun(path.join(root, `run-${n++}`));
    symlinkSync(d, path.join(d, 'link-to-self'));
    symlinkSync(run, path.join(d, 'link-to-run'));
    await refused([...TRAIN, '--out', path.join(d, 'link-to-self'), '--force'], d, /symbolic link/);
    await refused([...TRAIN, '--out', path.join(d, 'link-to-run'), '--force'], run, /symbolic link/);
  });

  it('a graft run folder with a user file put inside it', async () => {
    const run = await graftRun(path.join(root, `run-${n++}`));
    writeFileSync(path.join(run, 'notes.txt'), 'my notes\n');
    await refused([...TRAIN, '--out', run, '--force'], run, /graft did not write there: notes\.txt/);
  });

  it('export --to: a user folder, a user file named .keras', async () => {
    const d = userFolder();
    const run = await graftRun(path.join(root, `run-${n++}`));
    await refused(['export', run, '--to', d, '--force', '--backend', 'wasm'], d, /not written by graft/);
    writeFileSync(path.join(d, 'mine.keras'), 'not a graft file');
    await refused(['export', run, '--to', path.join(d, 'mine.keras'), '--force', '--backend', 'wasm'], d, /was not written by graft/);
  });

  it('report --out: a user file is never overwritten; a graft report is regenerated', async () => {
    const d = userFolder();
    const run = await graftRun(path.join(root, `run-${n++}`));
    await refused(['report', run, '--out', path.join(d, 'thesis.tex')], d, /not written by graft/);
    const out = path.join(d, 'report.html');
    expect((await graft(['report', run, '--out', out])).code).toBe(0);
    const first = readFileSync(out, 'utf8');
    expect(first).toContain('<meta name="generator" content="graft ');
    expect((await graft(['report', run, '--out', out])).code).toBe(0);
  });

  it('compare --out: a user compare.json or report.html in the folder is kept', async () => {
    const d = userFolder();
    const run = await graftRun(path.join(root, `run-${n++}`));
    writeFileSync(path.join(d, 'compare.json'), '{"mine": true}\n');
    await refused(['compare', '--from', run, '--task', 'fashion-mnist:binary=shirt,sandal', '--out', d, '--force', '--backend', 'wasm'], d, /compare\.json: it was not written by graft/);
    unlinkSync(path.join(d, 'compare.json'));
    writeFileSync(path.join(d, 'report.html'), '<html>my page</html>\n');
    await refused(['compare', '--from', run, '--task', 'fashion-mnist:binary=shirt,sandal', '--out', d, '--backend', 'wasm'], d, /report\.html already exists \(not written by graft\)/);
  });

  it('layers refuses an existing layers.json without --force, like every other command', async () => {
    const d = userFolder();
    const run = await graftRun(path.join(root, `run-${n++}`));
    writeFileSync(path.join(d, 'layers.json'), `${JSON.stringify({ kind: 'layers', graftVersion: '0.1.0' })}\n`);
    await refused(['layers', '--from', run, '--task', 'fashion-mnist:binary=shirt,sandal', '--out', d, '--backend', 'wasm'], d, /layers\.json already exists\. Pass --force/);
  });

  it('seed --out . --force is refused before anything is written', async () => {
    const d = userFolder();
    process.chdir(d);
    await refused(['seed', '--out', '.', '--force', '--data-dir', DATA, '--offline', '--backend', 'wasm'], d, /current folder/);
  });

  it('what graft wrote is still replaced, markers and older runs (without a marker) alike', async () => {
    const run = await graftRun(path.join(root, `run-${n++}`));
    await exportModel((await loadModel(run)).model, path.join(root, `export-${n}`));
    expect(existsSync(path.join(run, OWNER_FILE))).toBe(true);
    expect((await graft(['export', run, '--to', path.join(root, `export-${n}`), '--force', '--backend', 'wasm'])).code).toBe(0);
    const keras = path.join(root, `model-${n}.keras`);
    expect((await graft(['export', run, '--to', keras, '--backend', 'wasm'])).code).toBe(0);
    expect((await graft(['export', run, '--to', keras, '--force', '--backend', 'wasm'])).code).toBe(0);
    if (!haveData) return;
    const r = await graft([...TRAIN, '--out', run, '--force']);
    expect(r.code, r.stderr).toBe(0);
    // A run saved before markers existed: recognised by its run.json.
    rmSync(path.join(run, OWNER_FILE));
    const again = await graft([...TRAIN, '--out', run, '--force']);
    expect(again.code, again.stderr).toBe(0);
    expect(existsSync(path.join(run, OWNER_FILE))).toBe(true);
  });
});

describe('experiment files: out: stays inside the file\'s folder unless given on the command line', () => {
  const write = (dir: string, out: string): string => {
    const f = path.join(dir, 'exp.yaml');
    writeFileSync(f, `kind: train\ntask: fashion-mnist:binary=tshirt-top,sandal\nout: ${out}\nforce: true\nepochs: 1\n`);
    return f;
  };
  it('--check reports ../somewhere and ../../ with the folder they resolve to', async () => {
    const d = userFolder();
    const exp = path.join(d, 'figures');
    for (const out of ['../somewhere', '../../', '.']) {
      const f = write(exp, out);
      const r = await refused(['run', f, '--check'], d, /out must be a folder inside the experiment file's folder/);
      expect(r).toContain(path.resolve(exp, out));
      const run = await refused(['run', f, '--backend', 'wasm'], d, /inside the experiment file's folder/);
      expect(run).toMatch(/--out DIR/);
    }
  });
  it('--out on the command line may lie elsewhere, but never above the file', async () => {
    const d = userFolder();
    const f = write(path.join(d, 'figures'), 'runs/a');
    const elsewhere = path.join(root, `elsewhere-${n++}`);
    const ok = await graft(['run', f, '--out', elsewhere, '--check']);
    expect(ok.code, ok.stderr).toBe(0);
    await refused(['run', f, '--out', d, '--backend', 'wasm'], d, /holds the experiment file/);
  });
});

describe('--log appends, and only to its own logs', () => {
  it('a command that fails validation leaves an existing file untouched', async () => {
    const d = userFolder();
    await refused(['train', '--task', 'fashion-mnist:binary=tshirt-top,unicorn', '--out', path.join(root, `x-${n++}`), '--log', path.join(d, 'thesis.tex'), '--backend', 'wasm'], d, /unicorn|not a graft training log/);
  });
  it("refuses a file that is not a graft log — a run's weights.bin — before training", async () => {
    const run = await graftRun(path.join(root, `run-${n++}`));
    await refused([...TRAIN, '--out', path.join(root, `x-${n++}`), '--log', path.join(run, 'weights.bin')], run, /not a graft training log/);
    await loadModel(run).then((m) => m.model.dispose());
  });
  it('refuses a folder as the log', async () => {
    const d = userFolder();
    await refused([...TRAIN, '--out', path.join(root, `x-${n++}`), '--log', path.join(d, 'figures')], d, /not a regular file/);
  });
  it.runIf(haveData)('continues a graft log instead of truncating it', async () => {
    const log = path.join(root, `log-${n++}.jsonl`);
    expect((await graft([...TRAIN, '--out', path.join(root, `x-${n++}`), '--log', log])).code).toBe(0);
    const first = await readFile(log, 'utf8');
    expect(first.trim().split('\n')).toHaveLength(1);
    expect((await graft([...TRAIN, '--out', path.join(root, `x-${n++}`), '--log', log])).code).toBe(0);
    const both = await readFile(log, 'utf8');
    expect(both.startsWith(first)).toBe(true);
    expect(both.trim().split('\n')).toHaveLength(2);
  });
});

describe('storage problems are one-line errors, found before training where they can be', () => {
  it('a parent that is a file: train, compare and layers name it', async () => {
    const d = userFolder();
    const run = await graftRun(path.join(root, `run-${n++}`));
    const under = path.join(d, 'thesis.tex', 'out');
    await refused([...TRAIN, '--out', under], d, /thesis\.tex is a file, not a folder/);
    await refused(['compare', '--from', run, '--task', 'fashion-mnist:binary=shirt,sandal', '--out', under, '--backend', 'wasm'], d, /thesis\.tex is a file, not a folder/);
    await refused(['layers', '--from', run, '--task', 'fashion-mnist:binary=shirt,sandal', '--out', under, '--backend', 'wasm'], d, /thesis\.tex is a file, not a folder/);
  });

  it('a disk without room for the output is refused before training', async () => {
    const err = await rejectsWith(assertRunDirFree(path.join(root, `big-${n++}`), false, { bytes: 2 ** 60 }), 'WRITE_FAILED');
    expect(err.message).toMatch(/Not enough free space .* needs about/);
    await assertRunDirFree(path.join(root, `small-${n++}`), false, { bytes: 1024 });
  });

  it.runIf(haveData)('a full disk under the log: a GraftError naming the log, not a crash', async () => {
    const log = path.join(root, `full-${n++}.jsonl`);
    writeFaults.before = (step, file) => {
      if (step === 'write' && file === log) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    };
    try {
      const r = await graft([...TRAIN, '--out', path.join(root, `x-${n++}`), '--log', log]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`Cannot write ${log.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no space left`));
    } finally {
      delete writeFaults.before;
    }
  });
});
