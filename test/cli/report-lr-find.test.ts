import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers.js';
import { cliCapture, saveSourceRun } from './in-process.js';

/** graft report DIR on a graft lr-find --out folder: the range test's plot comes from lr-find.json. */
const dataDir = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte.gz')) || existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte'));
if (!haveData) console.log(`skipping the lr-find report test: no Fashion-MNIST in ${dataDir}`);

const dir = mkdtempSync(path.join(tmpdir(), 'graft-report-lr-find-'));
const source = path.join(dir, 'source');
const out = path.join(dir, 'lr');

describe.skipIf(!haveData)('graft report on an lr-find folder', () => {
  beforeAll(async () => {
    await useBackend();
    await saveSourceRun(source);
    const r = await cliCapture(['lr-find', '--from', source, '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--per-class', '40', '--steps', '20', '--batch-size', '8', '--out', out, '--data-dir', dataDir, '--offline']);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it('writes the range test\'s plot and verdict from lr-find.json alone', async () => {
    const json = JSON.parse(readFileSync(path.join(out, 'lr-find.json'), 'utf8')) as { suggestion: { steepest?: number } };
    rmSync(path.join(out, 'report.html'));
    const r = await cliCapture(['report', out]);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('<section id="lr-find">');
    expect(html).toContain('<svg');
    expect(html).toContain('<title>Learning-rate range test: fashion-mnist:binary=tshirt-top,sandal</title>');
    if (json.suggestion.steepest !== undefined) expect(html).toContain(`steepest: ${json.suggestion.steepest.toExponential(1).replace('e+', 'e')}`);
  });

  it('refuses a damaged lr-find.json, naming the file and the fix, and writes nothing', async () => {
    const bad = path.join(dir, 'bad');
    const r0 = await cliCapture(['lr-find', '--from', source, '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--per-class', '40', '--steps', '10', '--out', bad, '--data-dir', dataDir, '--offline']);
    expect(r0.code, r0.stderr).toBe(0);
    const record = JSON.parse(readFileSync(path.join(bad, 'lr-find.json'), 'utf8')) as { losses: number[] };
    writeFileSync(path.join(bad, 'lr-find.json'), JSON.stringify({ ...record, losses: record.losses.slice(1) }));
    rmSync(path.join(bad, 'report.html'));
    const r = await cliCapture(['report', bad]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(path.join(bad, 'lr-find.json'));
    expect(r.stderr).toContain('Re-run graft lr-find --out DIR');
    expect(existsSync(path.join(bad, 'report.html'))).toBe(false);
  }, 120_000);
});
