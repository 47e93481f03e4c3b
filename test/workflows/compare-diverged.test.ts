import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildMlp } from '../../src/models/mlp.js';
import { compare, describeTrial } from '../../src/workflows/compare.js';
import { useBackend } from '../helpers.js';
import { renderReport } from '../../src/report/render.js';

/**
 * A compare trial whose training the loss guard stopped is scored on weights that never trained;
 * it must say so in compare.json and in its progress line rather than pass for a result.
 */
const dataDir = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte.gz')) || existsSync(path.join(dataDir, 't10k-labels-idx1-ubyte'));
if (!haveData) console.log(`skipping compare's diverged-trial test: no Fashion-MNIST in ${dataDir}`);

beforeAll(useBackend);

describe.skipIf(!haveData)('compare with a learning rate that diverges', () => {
  it('marks the stopped trials and says so in their progress lines; a healthy run marks none', async () => {
    const source = buildMlp({ classes: 8, seed: 1 });
    const lines: string[] = [];
    const common = { source, task: 'fashion-mnist:binary=tshirt-top,sandal', trainSizes: [20] as const, seeds: 1, unfrozen: { epochs: 1 }, earlyStoppingPatience: null, dataDir, download: false };
    const bad = await compare({ ...common, trainSizes: [20], frozen: { epochs: 2, optimizer: { name: 'sgd', learningRate: 1000 } }, onTrial: (t, done, total) => lines.push(describeTrial(t, done, total)) });
    expect(bad.trials.map((t) => t.stopped)).toEqual(['diverged', 'diverged']);
    expect(lines.every((l) => /training diverged; scored on the weights from before it/.test(l))).toBe(true);
    const html = renderReport({ title: 'diverged', runs: [], compare: bad });
    expect(html).toMatch(/All 2 trials — 2 stopped by the loss guard/);
    const good = await compare({ ...common, trainSizes: [20], frozen: { epochs: 1, optimizer: { name: 'sgd', learningRate: 0.01 } } });
    expect(good.trials.map((t) => t.stopped)).toEqual([undefined, undefined]);
    source.dispose();
  });
});
