import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadReportInput } from '../../src/report/load.js';
import { rejectsWith } from '../helpers.js';
import { compareResult, runInfo } from './fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'graft-report-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
  await writeFile(path.join(dir, file), typeof value === 'string' ? value : JSON.stringify(value));
}

const image = { label: 'Coat', predicted: 'Pullover', confidence: 0.9, dataUri: 'data:image/png;base64,AAAA' };

describe('loadReportInput', () => {
  it('reads a single run directory with its examples.json', async () => {
    await put('run.json', runInfo());
    await put('examples.json', { images: [image] });
    const input = await loadReportInput(dir);
    expect(input.runs).toHaveLength(1);
    expect(input.runs[0]!.name).toBe(path.basename(dir));
    expect(input.runs[0]!.examples).toEqual([image]);
    expect(input.compare).toBeUndefined();
  });

  it('reads a folder of runs in name order, with seed.json', async () => {
    await put('scratch-b/run.json', runInfo({ kind: 'scratch' }));
    await put('model-a/run.json', runInfo({ kind: 'train' }));
    await put('model-b/run.json', runInfo());
    await put('notes/readme.txt', 'not a run');
    await put('seed.json', { rows: [{ model: 'A', phase: 'train', epochs: 10, seconds: 5, testAccuracy: 0.9 }], backend: 'wasm' });
    const input = await loadReportInput(dir);
    expect(input.runs.map((r) => r.name)).toEqual(['model-a', 'model-b', 'scratch-b']);
    expect(input.runs[0]!.examples).toBeUndefined();
    expect(input.seed?.rows[0]?.model).toBe('A');
  });

  it('reads a compare folder, with or without run sub-folders', async () => {
    await put('compare.json', compareResult());
    let input = await loadReportInput(dir);
    expect(input.compare?.rows).toHaveLength(3);
    expect(input.title).toContain('fashion-mnist:binary=shirt,sandal');
    expect(input.runs).toEqual([]);
    await put('10-seed0-transfer/run.json', runInfo());
    input = await loadReportInput(dir);
    expect(input.runs).toHaveLength(1);
  });

  it('says what it looked for when the folder holds nothing to report', async () => {
    const e = await rejectsWith(loadReportInput(dir), 'DATA_NOT_FOUND');
    expect(e.message).toMatch(/looked for run\.json, compare\.json, layers\.json, sweep\.json, lr-find\.json, and sub-folders holding run\.json/);
    await rejectsWith(loadReportInput(path.join(dir, 'missing')), 'DATA_NOT_FOUND');
    await put('file.txt', 'x');
    await rejectsWith(loadReportInput(path.join(dir, 'file.txt')), 'BAD_ARGUMENT');
  });

  it('refuses damaged compare.json and examples.json with the file named', async () => {
    await put('compare.json', { kind: 'sweep' });
    expect((await rejectsWith(loadReportInput(dir), 'DATA_CORRUPT')).message).toContain('compare.json lacks');
    await rm(path.join(dir, 'compare.json'));
    await put('run.json', runInfo());
    await put('examples.json', { images: [{ ...image, dataUri: 'https://example.com/a.png' }] });
    expect((await rejectsWith(loadReportInput(dir), 'DATA_CORRUPT')).message).toMatch(/examples\.json should be .*received/);
    await put('examples.json', '{');
    await rejectsWith(loadReportInput(dir), 'DATA_CORRUPT');
  });
});
