import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTaskSpec } from '../../src/data/task.js';
import { loadModel } from '../../src/io/run-dir.js';
import { disposeModel } from '../../src/models/dispose.js';
import { buildMlp } from '../../src/models/mlp.js';
import type { TrainCallbacks } from '../../src/train/types.js';
import { readRunCheckpoint, TrainingInterrupted, type RunCheckpoint } from '../../src/workflows/checkpoint.js';
import type { PreparedData } from '../../src/workflows/prepare.js';
import { trainModel, type TrainModelOptions } from '../../src/workflows/train-model.js';
import { transferModel, type TransferModelOptions } from '../../src/workflows/transfer-model.js';
import { liveTensors, rejectsWith, sameValues, syntheticDataset, useBackend, weightValues } from '../helpers.js';

beforeAll(useBackend);

const TASK = 'fashion-mnist:binary=tshirt-top,sandal';
/** Synthetic stand-in for the task's data (2 classes of 8×8 images), so no dataset files are read. */
const data: PreparedData = {
  spec: parseTaskSpec(TASK),
  task: TASK,
  train: syntheticDataset(80, 2, 31),
  validation: syntheticDataset(20, 2, 32),
  test: syntheticDataset(40, 2, 33),
};
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
const tmp = (): string => {
  roots.push(mkdtempSync(path.join(tmpdir(), 'graft-wf-resume-')));
  return path.join(roots[roots.length - 1]!, 'run');
};

/** An AbortController that aborts (as SIGINT would) once `when` says so at the end of an epoch. */
function stopAtEpochEnd(when: (phase: string, epoch: number) => boolean): { signal: AbortSignal; callbacks: TrainCallbacks } {
  const c = new AbortController();
  return { signal: c.signal, callbacks: { onEpochEnd: (r) => void (when(r.phase, r.epoch) && c.abort('SIGINT')) } };
}

async function interrupted(p: Promise<unknown>): Promise<TrainingInterrupted> {
  const e = await rejectsWith(p, 'INTERRUPTED');
  expect(e).toBeInstanceOf(TrainingInterrupted);
  return e as TrainingInterrupted;
}

function expectSameWeights(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [name, v] of a) expect(sameValues(v, b.get(name)!), `weight ${name} differs`).toBe(true);
}

describe('trainModel: interrupt, save, resume', () => {
  const options: TrainModelOptions = { task: TASK, data, epochs: 3, batchSize: 16, seed: 4, optimizer: { name: 'adam', learningRate: 0.01 }, earlyStopping: { patience: 5 } };

  it('saves a checkpoint that every reader recognises, refuses other options, and resumes to the same weights', async () => {
    const before = liveTensors();
    const plain = await trainModel(options);
    const out = tmp();
    const stop = stopAtEpochEnd((_, epoch) => epoch === 1);
    const e = await interrupted(trainModel({ ...options, out, ...stop }));
    expect(e.savedTo).toBe(out);
    expect(e.checkpoint!.header).toMatchObject({ command: 'train', reason: 'SIGINT', phase: 'train', epoch: 2, batch: 0 });
    expect(e.message).toMatch(/graft train --resume/);
    // .graft: the ownership marker, so --force may later replace this folder (ownership.ts).
    const [marker, blob, json] = readdirSync(out).sort();
    expect([marker, json]).toEqual(['.graft', 'checkpoint.json']);
    expect(blob).toMatch(/^checkpoint-[0-9a-f]{16}\.bin$/);

    await rejectsWith(loadModel(out), 'RUN_INTERRUPTED');
    const busy = await rejectsWith(trainModel({ ...options, out }), 'OUTPUT_EXISTS');
    expect(busy.message).toMatch(/resume it: `graft train --resume/i);

    const checkpoint = await readRunCheckpoint(out);
    const other = await rejectsWith(trainModel({ ...options, epochs: 4, out, resumeFrom: checkpoint }), 'CHECKPOINT_MISMATCH');
    expect(other.message).toMatch(/epochs was 3, now 4/);

    const resumed = await trainModel({ ...options, out, resumeFrom: checkpoint });
    expectSameWeights(weightValues(plain.model), weightValues(resumed.model));
    expect(resumed.test).toEqual(plain.test);
    expect(existsSync(path.join(out, 'checkpoint.json'))).toBe(false);
    const saved = await loadModel(out);
    expectSameWeights(weightValues(plain.model), weightValues(saved.model));
    for (const m of [plain.model, resumed.model, saved.model]) disposeModel(m);
    expect(liveTensors()).toBe(before);
  });

  it('says so and saves nothing when stopped before training began', async () => {
    const out = tmp();
    const c = new AbortController();
    c.abort('SIGTERM');
    const e = await interrupted(trainModel({ ...options, out, signal: c.signal }));
    expect(e).toMatchObject({ reason: 'SIGTERM', checkpoint: undefined });
    expect(existsSync(out)).toBe(false);
  });

  it('keeps the checkpoint in the error when there is no out folder', async () => {
    const plain = await trainModel(options);
    const e = await interrupted(trainModel({ ...options, ...stopAtEpochEnd((_, epoch) => epoch === 2) }));
    expect(e.savedTo).toBeUndefined();
    const resumed = await trainModel({ ...options, resumeFrom: e.checkpoint! });
    expectSameWeights(weightValues(plain.model), weightValues(resumed.model));
    disposeModel(plain.model);
    disposeModel(resumed.model);
  });
});

describe('transferModel: interrupt, save, resume', () => {
  it('resumes in the unfrozen phase to the same weights and scores, and refuses a train checkpoint', async () => {
    const before = liveTensors();
    const source = buildMlp({ classes: 4, inputShape: [8, 8], hidden: 12, seed: 9 });
    const options: TransferModelOptions = {
      source,
      sourcePath: 'runs/a',
      task: TASK,
      data,
      head: { dropout: 0.2 },
      frozen: { epochs: 2, optimizer: { name: 'sgd', learningRate: 0.1, momentum: 0.9 } },
      unfrozen: { epochs: 2 },
      batchSize: 16,
      seed: 2,
    };
    const plain = await transferModel(options);
    const out = tmp();
    const e = await interrupted(transferModel({ ...options, out, ...stopAtEpochEnd((phase, epoch) => phase === 'unfrozen' && epoch === 1) }));
    expect(e.checkpoint!.header).toMatchObject({ command: 'transfer', phase: 'unfrozen', epoch: 2, batch: 0 });
    const checkpoint: RunCheckpoint = await readRunCheckpoint(out);
    await rejectsWith(trainModel({ task: TASK, data, resumeFrom: checkpoint }), 'CHECKPOINT_MISMATCH');
    const resumed = await transferModel({ ...options, sourcePath: '/elsewhere/a', out, resumeFrom: checkpoint });
    expectSameWeights(weightValues(plain.model), weightValues(resumed.model));
    expect(resumed.test).toEqual(plain.test);
    expect(resumed.frozenTest).toEqual(plain.frozenTest);
    expect(resumed.run.source?.path).toBe('runs/a');
    expect(resumed.phases.map((p) => p.history.map((h) => h.loss))).toEqual(plain.phases.map((p) => p.history.map((h) => h.loss)));
    for (const m of [plain.model, resumed.model, source]) disposeModel(m);
    expect(liveTensors()).toBe(before);
  });
});
