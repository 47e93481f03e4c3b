import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/**
 * Vitest global setup: every temporary directory the tests make (mkdtemp under os.tmpdir(), in the
 * test processes and the graft commands they start) goes under one directory of this run, removed
 * when the run ends, so repeated runs leave nothing in the system's temporary folder (the VGG16
 * tests alone wrote 113 MB a run).
 */
export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const root = mkdtempSync(path.join(tmpdir(), 'graft-tests-'));
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
