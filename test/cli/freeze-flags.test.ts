import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadModel, saveRun } from '../../src/io/run-dir.js';
import { sameValues, testRunInfo, useBackend, weightValues } from '../helpers.js';
import { cliInProcess } from './in-process.js';

/**
 * `graft transfer`'s --freeze, --unfreeze, --gradual and --discriminative reach training: the saved
 * model's frozen layers are bit-identical to the source's, the others moved. (The policies
 * themselves are tested on both engines in test/transfer/freeze-training.test.ts; this is the wiring.)
 */
const DATA = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(DATA, 'train-images-idx3-ubyte.gz')) || existsSync(path.join(DATA, 'train-images-idx3-ubyte'));
if (!haveData) console.log(`skipping the --freeze/--unfreeze CLI tests: no Fashion-MNIST in ${DATA}`);

beforeAll(useBackend);

const dir = mkdtempSync(path.join(tmpdir(), 'graft-freeze-flags-'));
const source = path.join(dir, 'source');
let sourceWeights: Map<string, Float32Array>;

/** Flatten → d1 → d2 → d3 → 8-way output, with non-zero biases. */
beforeAll(async () => {
  const m = tfl.sequential({ name: 'src' });
  m.add(tfl.layers.flatten({ inputShape: [28, 28], name: 'flat' }));
  [16, 12, 8].forEach((units, i) =>
    m.add(tfl.layers.dense({ units, activation: 'tanh', name: `d${i + 1}`, kernelInitializer: tfl.initializers.glorotUniform({ seed: 40 + i }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 50 + i }) })),
  );
  m.add(tfl.layers.dense({ units: 8, activation: 'softmax', name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 44 }) }));
  sourceWeights = weightValues(m);
  await saveRun(source, m, testRunInfo({ task: 'fashion-mnist:exclude=sandal,shirt', classNames: ['0', '1', '2', '3', '4', '5', '6', '7'], sampleShape: [28, 28], preprocessing: { pixelScale: 1 / 255 } }));
  m.dispose();
});

async function transfer(name: string, flags: string[]): Promise<{ moved: string[]; run: { phases: Array<{ trainableLayers: string[]; learningRates?: Record<string, number>; unfreezeSchedule?: string[][] }> } }> {
  const out = path.join(dir, name);
  const r = await cliInProcess(['transfer', '--from', source, '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--per-class', '20', '--frozen-epochs', '1', '--frozen-lr', '0.1', '--epochs', '1', '--lr', '0.1', '--data-dir', DATA, '--offline', '--backend', 'wasm', '--out', out, ...flags]);
  expect(r.code, r.stderr).toBe(0);
  const { model } = await loadModel(out);
  const w = weightValues(model);
  model.dispose();
  const moved = ['d1', 'd2', 'd3'].filter((l) => ['kernel', 'bias'].some((k) => !sameValues(sourceWeights.get(`${l}/${k}`)!, w.get(`${l}/${k}`)!)));
  return { moved, run: JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) };
}

describe.skipIf(!haveData)('graft transfer trains only what its flags unfreeze', () => {
  it('--freeze d2 --unfreeze last:1: d2 never trains', async () => {
    const r = await transfer('names', ['--freeze', 'd2', '--unfreeze', 'last:1']);
    expect(r.moved).toEqual(['d1', 'd3']);
  });

  it('--freeze first:3 --unfreeze from:d3: d1 and d2 never train', async () => {
    const r = await transfer('first', ['--freeze', 'first:3', '--unfreeze', 'from:d3']);
    expect(r.moved).toEqual(['d3']);
  });

  it('--freeze /^d[12]$/ with --gradual over one epoch: only the top group (d3) is unfrozen', async () => {
    const r = await transfer('gradual', ['--freeze', '/^d[12]$/', '--gradual']);
    expect(r.moved).toEqual(['d3']);
    expect(r.run.phases[1]!.unfreezeSchedule).toEqual([['d3']]);
  });

  it('--discriminative 0.01: the unfrozen phase records a rate per layer, lowest at the bottom', async () => {
    const r = await transfer('disc', ['--discriminative', '0.01']);
    expect(r.moved).toEqual(['d1', 'd2', 'd3']);
    const rates = r.run.phases[1]!.learningRates!;
    expect(rates.d1! < rates.d2! && rates.d2! < rates.d3! && rates.d3! < rates.head_output!, JSON.stringify(rates)).toBe(true);
  });
});
