import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainModel } from '../../src/workflows/train-model.js';
import { transferModel } from '../../src/workflows/transfer-model.js';
import { loadModel } from '../../src/io/run-dir.js';
import { evaluate } from '../../src/evaluate/evaluate.js';
import { prepareTask } from '../../src/workflows/prepare.js';
import { sameValues, useBackend, weightValues } from '../helpers.js';

const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';
const dataDir = process.env.GRAFT_DATA_DIR ?? DEBIAN_DIR;
const haveData = existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte.gz')) || existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte'));
if (!haveData) console.log(`skipping Fashion-MNIST integration tests: no data in ${dataDir} (apt-get install dataset-fashion-mnist, or set GRAFT_DATA_DIR)`);

beforeAll(useBackend);

describe.skipIf(!haveData)('Model A → Model B on real Fashion-MNIST subsets', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'graft-int-'));

  it('trains A on 8 classes, transfers to T-shirt vs sandal, leaves A untouched, reloads B', async () => {
    const a = await trainModel({ task: 'fashion-mnist:exclude=sandal,shirt', perClass: 300, epochs: 3, dataDir, download: false, out: path.join(out, 'a'), seed: 1 });
    // Floors measured: 300 images/class × 3 epochs reaches ≈0.80 on the 8-class test set.
    expect(a.test.accuracy).toBeGreaterThan(0.72);
    expect(a.test.count).toBe(8000);
    expect(a.run.classNames).toHaveLength(8);
    const before = weightValues(a.model);

    const b = await transferModel({
      source: a.model,
      task: 'fashion-mnist:binary=tshirt-top,sandal',
      perClass: 200,
      valSplit: 0.1,
      dataDir,
      download: false,
      frozen: { epochs: 2, optimizer: { learningRate: 0.01 } },
      unfrozen: { epochs: 2 },
      out: path.join(out, 'b'),
      seed: 1,
    });
    expect(b.test.count).toBe(2000);
    expect(b.frozenTest.accuracy).toBeGreaterThan(0.9);
    expect(b.test.accuracy).toBeGreaterThan(0.95);
    expect(b.run.phases.map((p) => p.name)).toEqual(['frozen', 'unfrozen']);
    expect(b.run.phases[1]!.optimizer.learningRate).toBeCloseTo(0.001);
    expect(b.run.phases[0]!.history[0]!.valAccuracy).toBeDefined();

    const after = weightValues(a.model);
    for (const [k, v] of before) expect(sameValues(v, after.get(k)!), k).toBe(true);

    const loaded = await loadModel(path.join(out, 'b'));
    const data = await prepareTask('fashion-mnist:binary=tshirt-top,sandal', { dataDir, download: false });
    expect(evaluate(loaded.model, data.test).accuracy).toBeCloseTo(b.test.accuracy, 10);
  });
});
