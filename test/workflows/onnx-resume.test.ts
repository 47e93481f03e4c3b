import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { parseTaskSpec } from '../../src/data/task.js';
import { Rng } from '../../src/engine/rng.js';
import { loadOnnxSource } from '../../src/io/onnx/source.js';
import { readRunCheckpoint, TrainingInterrupted } from '../../src/workflows/checkpoint.js';
import type { PreparedData } from '../../src/workflows/prepare.js';
import { transferModel, type TransferModelOptions } from '../../src/workflows/transfer-model.js';
import { rejectsWith, sameValues, useBackend, weightValues } from '../helpers.js';

beforeAll(useBackend);

/**
 * An interrupted transfer from an ONNX source (a conv net with BatchNorm nodes, which train with
 * their blocks in the unfrozen phase) resumes to the weights — running averages included — and
 * scores of the uninterrupted run, bit for bit.
 */
const FILE = path.resolve(__dirname, '../../fixtures/onnx/convnet.torchscript-op17.keep-bn.onnx');
const TASK = 'cifar10:binary=cat,dog';

function images(n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const y = Int32Array.from({ length: n }, (_, i) => i % 2);
  const x = new Float32Array(n * 16 * 16 * 3);
  for (let i = 0; i < n; i++) for (let j = 0; j < 768; j++) x[i * 768 + j] = Math.min(1, rng.next() * 0.6 + (j % 3 === y[i]! ? 0.4 : 0));
  return { x, y, sampleShape: [16, 16, 3], classNames: ['Cat', 'Dog'], pixelRange: 'unit', source: 'synthetic' };
}
const data: PreparedData = { spec: parseTaskSpec(TASK), task: TASK, train: images(64, 1), validation: images(16, 2), test: images(32, 3) };
const root = mkdtempSync(path.join(tmpdir(), 'graft-onnx-resume-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('resume a transfer from an ONNX source', () => {
  it('ends with the uninterrupted run\'s weights and scores', async () => {
    const source = await loadOnnxSource(FILE, { preprocess: 'scale' });
    const options: TransferModelOptions = {
      source: source.model,
      sourcePath: FILE,
      task: TASK,
      data,
      frozen: { epochs: 2, optimizer: { name: 'adam', learningRate: 0.01 } },
      unfrozen: { epochs: 2 },
      batchSize: 16,
      seed: 5,
    };
    const plain = await transferModel(options);
    const out = path.join(root, 'run');
    const c = new AbortController();
    const e = await rejectsWith(transferModel({ ...options, out, signal: c.signal, callbacks: { onEpochEnd: (r) => void (r.phase === 'unfrozen' && r.epoch === 1 && c.abort('SIGINT')) } }), 'INTERRUPTED');
    expect(e).toBeInstanceOf(TrainingInterrupted);
    const resumed = await transferModel({ ...options, out, resumeFrom: await readRunCheckpoint(out) });
    const a = weightValues(plain.model);
    const b = weightValues(resumed.model);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    expect([...a.keys()].some((k) => /running_var/.test(k))).toBe(true);
    for (const [name, v] of a) expect(sameValues(v, b.get(name)!), `weight ${name} differs`).toBe(true);
    expect(resumed.test).toEqual(plain.test);
    // Not told by the caller, the run still records how its source was imported.
    expect(plain.run.source?.onnx).toMatchObject({ file: FILE, preprocess: 'scale', blocks: source.info.blocks });
    for (const m of [plain.model, resumed.model, source.model]) m.dispose();
  });
});
