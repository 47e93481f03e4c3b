import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/io/run-dir.js';
import { evaluate } from '../../src/evaluate/evaluate.js';
import { prepareTask } from '../../src/workflows/prepare.js';
import { transferModel } from '../../src/workflows/transfer-model.js';
import { useBackend } from '../helpers.js';

const dataDir = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte.gz')) || existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte'));
const SHARED = path.resolve(__dirname, '../../../shared/fixtures/keras');
const haveShared = existsSync(SHARED);
if (!haveData) console.log(`skipping Keras-on-Fashion-MNIST tests: no data in ${dataDir}`);
if (!haveShared) console.log(`skipping the shared Keras files' accuracy tests: ${SHARED} is absent (a user's clone)`);

beforeAll(useBackend);

describe.skipIf(!haveData)('Keras models on the real Fashion-MNIST test set', () => {
  it.skipIf(!haveShared)('scores the shared files at the accuracies measured in Keras (±0.001)', async () => {
    const data = await prepareTask('fashion-mnist', { dataDir, download: false });
    // Measured with Keras and recorded in shared/fixtures/SOURCES.md.
    const expected: Record<string, number> = { 'tf-keras-2.1.6-mlp.h5': 0.8785, 'keras-3.3.3-cnn.h5': 0.8804, 'keras-3.3.3-cnn.keras': 0.8804 };
    for (const [file, acc] of Object.entries(expected)) {
      const { model } = await loadModel(path.join(SHARED, file));
      expect(Math.abs(evaluate(model, data.test).accuracy - acc), file).toBeLessThanOrEqual(0.001);
    }
  });

  it("transfers the write-up's Model A trained and saved by real Keras to T-shirt vs sandal (≥ 0.99)", async () => {
    const source = await loadModel(path.resolve(__dirname, '../../fixtures/keras/model_a.h5'));
    expect(source.format).toBe('keras-h5');
    const r = await transferModel({ source: source.model, task: 'fashion-mnist:binary=tshirt-top,sandal', dataDir, download: false, seed: 0 });
    expect(r.test.accuracy).toBeGreaterThanOrEqual(0.99);
  });
});
