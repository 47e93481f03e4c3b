import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../../src/data/dataset.js';
import { parseTaskSpec } from '../../src/data/task.js';
import { readRunCheckpoint } from '../../src/workflows/checkpoint.js';
import type { PreparedData } from '../../src/workflows/prepare.js';
import { trainModel, type TrainModelOptions } from '../../src/workflows/train-model.js';
import { transferModel, type TransferModelOptions } from '../../src/workflows/transfer-model.js';
import { rejectsWith, sameValues, syntheticDataset, useBackend, weightValues } from '../helpers.js';

/**
 * Class weights through the workflows: recorded per phase in run.json, part of what a resume must
 * match, reaching the feature-cache path, and given on the command line or in experiment files.
 */
beforeAll(useBackend);

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
const tmp = (): string => {
  roots.push(mkdtempSync(path.join(tmpdir(), 'graft-class-weight-')));
  return roots[roots.length - 1]!;
};

/** Every sample of class 0 and the first `keep` of class 1: imbalanced. */
function imbalanced(ds: Dataset, keep: number): Dataset {
  let ones = 0;
  const idx = [...ds.y.keys()].filter((i) => ds.y[i] === 0 || ones++ < keep);
  const size = ds.x.length / ds.y.length;
  const x = new Float32Array(idx.length * size);
  idx.forEach((i, k) => x.set(ds.x.subarray(i * size, (i + 1) * size), k * size));
  return { ...ds, x, y: Int32Array.from(idx, (i) => ds.y[i]!) };
}

const TASK = 'fashion-mnist:binary=tshirt-top,sandal';
/** 60 + 12 training samples of 8×8 images, so no dataset files are read. */
const data: PreparedData = {
  spec: parseTaskSpec(TASK),
  task: TASK,
  train: imbalanced(syntheticDataset(120, 2, 31), 12),
  validation: syntheticDataset(20, 2, 32),
  test: syntheticDataset(40, 2, 33),
};

interface PhaseJson {
  name: string;
  classWeight?: string;
  classWeights?: Record<string, number>;
  featureCache?: unknown;
}
const phasesOf = (dir: string): PhaseJson[] => (JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8')) as { phases: PhaseJson[] }).phases;

describe('trainModel with a class weight', () => {
  const options: TrainModelOptions = { task: TASK, data, epochs: 3, batchSize: 16, seed: 4, optimizer: { name: 'adam', learningRate: 0.01 }, classWeight: 'balanced' };

  it('records the weights per phase, refuses a resume with another class weight, and resumes to the same weights', async () => {
    const out = path.join(tmp(), 'run');
    const full = await trainModel({ ...options, out });
    const [phase] = phasesOf(out);
    // 72 samples, 60 + 12: 72 / (2 × 60) and 72 / (2 × 12).
    expect(phase).toMatchObject({ classWeight: 'balanced', classWeights: { c0: 0.6, c1: 3 } });
    const plain = await trainModel({ ...options, classWeight: undefined });
    const wp = weightValues(plain.model);
    expect([...weightValues(full.model)].some(([name, v]) => !sameValues(v, wp.get(name)!)), 'the class weight changes training').toBe(true);

    const stopped = path.join(tmp(), 'run');
    const c = new AbortController();
    await rejectsWith(trainModel({ ...options, out: stopped, signal: c.signal, callbacks: { onEpochEnd: (r) => void (r.epoch === 1 && c.abort('SIGINT')) } }), 'INTERRUPTED');
    const checkpoint = await readRunCheckpoint(stopped);
    const other = await rejectsWith(trainModel({ ...options, classWeight: { c1: 3 }, out: stopped, resumeFrom: checkpoint }), 'CHECKPOINT_MISMATCH');
    expect(other.message).toMatch(/classWeight was "balanced", now \{"c1":3\}/);
    const none = await rejectsWith(trainModel({ ...options, classWeight: undefined, out: stopped, resumeFrom: checkpoint }), 'CHECKPOINT_MISMATCH');
    expect(none.message).toMatch(/classWeight was "balanced", now \(not set\)/);
    const resumed = await trainModel({ ...options, out: stopped, resumeFrom: checkpoint });
    for (const [name, v] of weightValues(full.model)) expect(sameValues(v, weightValues(resumed.model).get(name)!), name).toBe(true);
    expect(phasesOf(stopped)[0]).toMatchObject({ classWeight: 'balanced', classWeights: { c0: 0.6, c1: 3 } });
    [full, plain, resumed].forEach((r) => r.model.dispose());
  });
});

describe('transferModel with a class weight', () => {
  function source(): tfl.LayersModel {
    const m = tfl.sequential({ name: 'src' });
    m.add(tfl.layers.flatten({ inputShape: [8, 8], name: 'flat' }));
    m.add(tfl.layers.dense({ units: 12, activation: 'relu', name: 'd1', kernelInitializer: tfl.initializers.glorotUniform({ seed: 7 }) }));
    m.add(tfl.layers.dense({ units: 5, activation: 'softmax', name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 8 }) }));
    return m;
  }
  const base = (classWeight: TransferModelOptions['classWeight'], featureCache: boolean): TransferModelOptions => ({
    source: source(),
    task: TASK,
    data,
    seed: 3,
    batchSize: 16,
    featureCache,
    frozen: { epochs: 2, optimizer: { name: 'sgd', learningRate: 0.1 } },
    unfrozen: { epochs: 1, optimizer: { name: 'sgd', learningRate: 0.05 } },
    ...(classWeight !== undefined && { classWeight }),
  });

  it('weights both phases, with the feature cache as without it, and records them', async () => {
    const out = path.join(tmp(), 'run');
    const cached = await transferModel({ ...base({ c0: 0.5, c1: 4 }, true), out });
    const uncached = await transferModel(base({ c0: 0.5, c1: 4 }, false));
    const plain = await transferModel(base(undefined, true));
    expect(cached.phases[0]!.featureCache, 'the frozen phase ran on cached features').toBeDefined();
    const phases = phasesOf(out);
    expect(phases.map((p) => [p.name, p.classWeight, p.classWeights])).toEqual([
      ['frozen', 'c0=0.5,c1=4', { c0: 0.5, c1: 4 }],
      ['unfrozen', 'c0=0.5,c1=4', { c0: 0.5, c1: 4 }],
    ]);
    const wc = weightValues(cached.model);
    const wu = weightValues(uncached.model);
    const wp = weightValues(plain.model);
    let cacheGap = 0;
    let weightEffect = 0;
    for (const [name, v] of wc) {
      v.forEach((x, i) => {
        cacheGap = Math.max(cacheGap, Math.abs(x - wu.get(name)![i]!));
        weightEffect = Math.max(weightEffect, Math.abs(x - wp.get(name)![i]!));
      });
    }
    expect(cacheGap, 'feature cache on and off train the same').toBeLessThan(1e-5);
    expect(weightEffect, 'the class weight changes training').toBeGreaterThan(1e-3);
    [cached, uncached, plain].forEach((r) => r.model.dispose());
  });
});
