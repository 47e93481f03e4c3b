import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { reportCommand } from '../../src/cli/commands/report.js';
import { rejectsWith } from '../helpers.js';
import { runInfo } from './fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'graft-report-cmd-'));
  // A finished run: run.json is written last, after the model files (whose content the report does not read).
  await writeFile(path.join(dir, 'model.json'), '{}');
  await writeFile(path.join(dir, 'weights.bin'), '');
  await writeFile(path.join(dir, 'run.json'), JSON.stringify(runInfo()));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

describe('graft report', () => {
  it('writes DIR/report.html by default, or --out, and prints the path', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(await reportCommand.run({ values: { out: undefined }, positionals: [dir] })).toBe(0);
    expect(out).toHaveBeenLastCalledWith(`${path.join(dir, 'report.html')}\n`);
    expect(await readFile(path.join(dir, 'report.html'), 'utf8')).toMatch(/^<!DOCTYPE html>/);
    const other = path.join(dir, 'other.html');
    await reportCommand.run({ values: { out: other }, positionals: [dir] });
    expect(out).toHaveBeenLastCalledWith(`${other}\n`);
  });

  it('takes exactly one folder', async () => {
    await rejectsWith(reportCommand.run({ values: { out: undefined }, positionals: [] }), 'BAD_ARGUMENT');
    await rejectsWith(reportCommand.run({ values: { out: undefined }, positionals: [dir, dir] }), 'BAD_ARGUMENT');
  });
});
