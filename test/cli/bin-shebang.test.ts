import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GRAFT_VERSION } from '../../src/version.js';

/**
 * `graft` as the shell runs it: bin/graft.js executed through its shebang (`env -S node FLAGS`),
 * whose V8 flag keeps training loops out of back-to-back mark-compacts (bin/graft.js says why).
 * An --import hook given in NODE_OPTIONS reports the flags Node started with.
 */
const BIN = path.resolve(import.meta.dirname, '../../bin/graft.js');
if (process.platform === 'win32') console.log("graft executable test skipped: Windows runs graft through npm's cmd shim, not the shebang");

describe('the graft executable', () => {
  it.skipIf(process.platform === 'win32')('starts Node with a larger initial old generation and runs', () => {
    // No quotes inside: NODE_OPTIONS parsing would take them.
    const report = 'data:text/javascript,process.stderr.write(JSON.stringify({execArgv:process.execArgv}))';
    const r = spawnSync(BIN, ['--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: `--import=${report}` } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(GRAFT_VERSION);
    const execArgv = (JSON.parse(/\{"execArgv":\[.*?\]\}/.exec(r.stderr)?.[0] ?? '{}') as { execArgv?: string[] }).execArgv;
    expect(execArgv).toContain('--initial-old-space-size=128');
  });
});
