import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cp, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildMlp } from '../../src/models/mlp.js';
import { exportModel } from '../../src/io/export-model.js';
import { findHalfFinishedRuns } from '../../src/io/half-finished.js';
import { assertRunDirFree, loadModel, saveRun } from '../../src/io/run-dir.js';
import { rejectsWith, testRunInfo, useBackend } from '../helpers.js';
import { deadPid } from './fault-helpers.js';

beforeAll(useBackend);

const info = testRunInfo();

let root: string;
let run: string;
let dead: number;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'graft-half-'));
  run = path.join(root, 'run');
  dead = deadPid();
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const model = (): ReturnType<typeof buildMlp> => buildMlp({ classes: 2, inputShape: [4, 4], hidden: 3, dropout: 0 });
const tmpOf = (name: string, pid = dead): string => path.join(root, `.${name}.tmp-${pid}-0123456789ab`);
const oldOf = (name: string, pid = dead): string => path.join(root, `.${name}.old-${pid}-0123456789ab`);

/** A complete run at `dir`, built elsewhere and moved in, the way a save leaves it. */
async function completeRun(dir: string): Promise<void> {
  await saveRun(dir, model(), info);
}

/** What a kill leaves: a copy of a complete run at `dir` with `drop` deleted from it. */
async function partialCopy(dir: string, drop: string[]): Promise<void> {
  const source = path.join(root, 'source-run');
  await completeRun(source);
  await cp(source, dir, { recursive: true });
  await rm(source, { recursive: true });
  for (const f of drop) await rm(path.join(dir, f));
}

async function expectHalfFinished(location: string, ...words: string[]): Promise<string> {
  const e = await rejectsWith(loadModel(location), 'RUN_INCOMPLETE');
  for (const w of words) expect(e.message).toContain(w);
  return e.message;
}

describe('half-finished runs are recognised by loadModel', () => {
  it('the folder missing, a dead writer’s partial copy beside it', async () => {
    await partialCopy(tmpOf('run'), ['run.json', 'history.jsonl']);
    const m = await expectHalfFinished(run, `Half-finished run at ${run}`, '.run.tmp-', 'rerun with --force');
    expect(m).toContain('run.json');
    // through model.json and run.json paths too
    await expectHalfFinished(path.join(run, 'model.json'), 'Half-finished run');
  });

  it('the folder missing after an interrupted --force replace: says where the previous run is', async () => {
    await completeRun(oldOf('run'));
    await partialCopy(tmpOf('run'), ['run.json']);
    await expectHalfFinished(run, 'previous run is in .run.old-', `rename ${oldOf('run')} back to ${run}`, 'rerun with --force');
  });

  it('a complete run beside a dead writer’s partial replacement', async () => {
    await completeRun(run);
    await partialCopy(tmpOf('run'), ['weights.bin', 'run.json']);
    await expectHalfFinished(run, 'still holds the previous one', `delete ${tmpOf('run')}`);
  });

  it('a folder with run files but no run.json (the completion marker), or run.json without the model', async () => {
    await partialCopy(run, ['run.json']);
    await expectHalfFinished(run, 'run.json is missing', 'rerun with --force');
    await rm(run, { recursive: true });
    await partialCopy(run, ['model.json', 'weights.bin', 'history.jsonl']);
    await expectHalfFinished(path.join(run, 'run.json'), 'model.json, weights.bin are missing');
  });

  it('a run another graft process is still writing', async () => {
    await partialCopy(tmpOf('run', process.pid), ['run.json']);
    await expectHalfFinished(run, `Run at ${run} is not finished yet`, `graft process ${process.pid} is still writing it`);
    const e = await rejectsWith(assertRunDirFree(run, false), 'OUTPUT_EXISTS');
    expect(e.message).toContain('being written by graft process');
  });

  it('loads what is complete: a run beside a finished replace’s old copy, a TF.js export, leftover temp files', async () => {
    await completeRun(run);
    await completeRun(oldOf('run'));
    // A file with a temp name (e.g. from an interrupted file write) is not a copy of the run.
    await writeFile(tmpOf('run'), 'partial file');
    expect((await loadModel(run)).format).toBe('graft-run');
    const exported = path.join(root, 'export');
    await exportModel(model(), exported);
    expect((await loadModel(exported)).format).toBe('tfjs-layers');
  });

  it('plain missing paths stay MODEL_NOT_FOUND', async () => {
    await rejectsWith(loadModel(run), 'MODEL_NOT_FOUND');
  });
});

describe('writers and half-finished runs', () => {
  it('assertRunDirFree refuses a half-finished path without --force and names it; saveRun --force clears the leftovers', async () => {
    await completeRun(oldOf('run'));
    await partialCopy(tmpOf('run'), ['run.json']);
    const e = await rejectsWith(assertRunDirFree(run, false), 'OUTPUT_EXISTS');
    expect(e.message).toContain(`Half-finished run at ${run}`);
    expect(e.message).toContain('rerun with --force');
    await assertRunDirFree(run, true);
    await saveRun(run, model(), info, { force: true });
    expect(await readdir(root)).toEqual(['run']);
    expect((await loadModel(run)).format).toBe('graft-run');
  });

  it('a save killed after the swap (old copy not yet deleted) leaves a loadable run; the next save clears it', async () => {
    await completeRun(run);
    await completeRun(oldOf('run'));
    await assertRunDirFree(path.join(root, 'other'), false);
    expect((await loadModel(run)).run?.task).toBe('synthetic');
    await saveRun(run, model(), info, { force: true });
    expect(await readdir(root)).toEqual(['run']);
  });
});

describe('findHalfFinishedRuns (graft report on a folder of runs)', () => {
  it('finds sub-runs that exist only as a partial copy, and half-finished sub-folders', async () => {
    await completeRun(path.join(root, 'model-a'));
    await partialCopy(tmpOf('model-b'), ['run.json']);
    await partialCopy(path.join(root, 'model-c'), ['run.json']);
    const found = await findHalfFinishedRuns(root);
    expect(found.map((h) => path.basename(h.dir))).toEqual(['model-b', 'model-c']);
    expect(await findHalfFinishedRuns(path.join(root, 'model-a'))).toEqual([]);
    await rm(tmpOf('model-b'), { recursive: true });
    await rename(path.join(root, 'model-c'), path.join(root, 'unrelated'));
    await rm(path.join(root, 'unrelated', 'history.jsonl'));
    await mkdir(path.join(root, 'empty'));
    expect(await findHalfFinishedRuns(root)).toEqual([]);
  });
});
