import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = path.resolve(__dirname, '../../bin/graft.js');
const run = (...args: string[]): { code: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('graft CLI', () => {
  it('prints help listing every command, and per-command help with defaults', () => {
    const h = run('--help');
    expect(h.code).toBe(0);
    for (const c of ['seed', 'train', 'transfer', 'evaluate', 'predict']) expect(h.stdout).toContain(c);
    const t = run('transfer', '--help');
    expect(t.code).toBe(0);
    // Head and phase defaults come from --recipe, whose values the help lists.
    expect(t.stdout).toMatch(/--frozen-lr RATE\s+.*\(default: the recipe's\)/);
    expect(t.stdout).toMatch(/writeup: the write-up's Model B: flatten head, SGD 0\.001 for 4 frozen epochs/);
  });

  it('exits 2 with a short message on user errors', () => {
    const unknown = run('train', '--bogus');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/bogus/);
    expect(unknown.stderr).not.toMatch(/at .*\.js:\d+/);
    const badSpec = run('train', '--task', 'fashion-mnist:binary=tshirt-top,unicorn', '--out', path.join(mkdtempSync(path.join(tmpdir(), 'graft-cli-')), 'x'), '--backend', 'cpu');
    expect(badSpec.code).toBe(2);
    expect(badSpec.stderr).toMatch(/unicorn/);
    const missing = run('evaluate', '--model', '/nonexistent/model', '--backend', 'cpu');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/No model at \/nonexistent\/model/);
    expect(run('frobnicate').code).toBe(2);
    expect(run('train', '--epochs', 'ten', '--task', 'fashion-mnist', '--out', '/tmp/x').code).toBe(2);
  });
});
