import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { loadModel, saveRun } from '../../src/io/run-dir.js';
import { buildMlp } from '../../src/models/mlp.js';
import { rejectsWith, testRunInfo, useBackend } from '../helpers.js';
import { snapshot } from './fault-helpers.js';

/**
 * The same faults as the injected ones in atomic.test.ts, from a real file system: a 1 MiB tmpfs
 * fills up (ENOSPC) and is remounted read-only (EROFS). Mounting needs root with CAP_SYS_ADMIN;
 * where that is missing (most CI containers) the file is skipped and the injected tests remain.
 */

const mnt = mkdtempSync(path.join(tmpdir(), 'graft-tmpfs-'));
function tryMount(): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', mnt], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const mounted = tryMount();
if (!mounted) console.log(`disk-real.test: skipped: cannot mount a tmpfs at ${mnt} (needs root with CAP_SYS_ADMIN); the injected-fault tests cover the same paths`);

beforeAll(useBackend);
afterAll(() => {
  if (mounted) execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
  rmSync(mnt, { recursive: true, force: true });
});

const info = testRunInfo({ task: 'small', sampleShape: [28, 28] });

describe.skipIf(!mounted)('real disk faults on a 1 MiB tmpfs', () => {
  const run = path.join(mnt, 'run');

  it('a full disk while replacing a run (--force): WRITE_FAILED naming the path and fix; the old run byte-identical, no temp left', async () => {
    await saveRun(run, buildMlp({ classes: 2, hidden: 8 }), info); // ~25 KiB of weights
    const before = await snapshot(mnt);
    // 784 × 512 float32 weights: 1.6 MiB, more than the whole disk.
    const e = await rejectsWith(saveRun(run, buildMlp({ classes: 2, hidden: 512 }), { ...info, task: 'big' }, { force: true }), 'WRITE_FAILED');
    expect(e.message).toContain(`Cannot write ${run}: no space left`);
    expect(e.message).toContain('Free some space, or write to another disk (another --out)');
    expect(e.message).toContain(`Nothing at ${run} was changed`);
    expect(await snapshot(mnt)).toEqual(before);
    expect((await loadModel(run)).run?.task).toBe('small');
  });

  it('a full disk while replacing a file: the old file byte-identical', async () => {
    const file = path.join(mnt, 'cache.bin');
    await writeFileAtomic(file, 'earlier');
    const before = await snapshot(mnt);
    await rejectsWith(writeFileAtomic(file, new Uint8Array(2 * 1024 * 1024)), 'WRITE_FAILED');
    expect(await snapshot(mnt)).toEqual(before);
  });

  it('a read-only file system: WRITE_FAILED saying so, nothing changed', async () => {
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    try {
      const before = await snapshot(mnt);
      const other = path.join(mnt, 'other');
      const e = await rejectsWith(saveRun(other, buildMlp({ classes: 2, hidden: 8 }), info), 'WRITE_FAILED');
      expect(e.message).toContain(`Cannot write ${other}: ${mnt} is on a read-only file system`);
      expect(e.message).toContain('another --out');
      await rejectsWith(saveRun(run, buildMlp({ classes: 2, hidden: 8 }), info, { force: true }), 'WRITE_FAILED');
      await rejectsWith(writeFileAtomic(path.join(mnt, 'cache.bin'), 'new'), 'WRITE_FAILED');
      expect(await snapshot(mnt)).toEqual(before);
      expect((await readdir(mnt)).sort()).toEqual(['cache.bin', 'run']);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', mnt]);
    }
  });
});
