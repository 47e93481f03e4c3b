import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { parseTaskSpec } from '../../src/data/task.js';
import type { BatchNormMode } from '../../src/train/batchnorm-mode.js';
import { readRunCheckpoint } from '../../src/workflows/checkpoint.js';
import type { PreparedData } from '../../src/workflows/prepare.js';
import { transferModel, type TransferModelOptions } from '../../src/workflows/transfer-model.js';
import { images } from '../train/engine-agreement.js';
import { cliCapture, cliInProcess } from '../cli/in-process.js';
import { rejectsWith, sameValues, useBackend, weightValues } from '../helpers.js';

/** --bn / the unfrozen phase's batchNorm through transferModel: recorded in run.json, compared on resume, checked on the command line. */
beforeAll(useBackend);

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
const tmp = (): string => {
  roots.push(mkdtempSync(path.join(tmpdir(), 'graft-bn-mode-')));
  return roots[roots.length - 1]!;
};

const TASK = 'fashion-mnist:binary=tshirt-top,sandal';
const data: PreparedData = {
  spec: parseTaskSpec(TASK),
  task: TASK,
  train: { ...images(48, [6, 6, 2], 2, 41), classNames: ['a', 'b'] },
  test: { ...images(20, [6, 6, 2], 2, 42), classNames: ['a', 'b'] },
};

/** conv → BatchNorm → relu → GAP → Dense: the reused part holds a BatchNorm with non-trivial statistics. */
function source(): tfl.LayersModel {
  const m = tfl.sequential({ name: 'src' });
  m.add(tfl.layers.inputLayer({ inputShape: [6, 6, 2] }));
  m.add(tfl.layers.conv2d({ filters: 3, kernelSize: 3, name: 'c1', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }));
  m.add(tfl.layers.batchNormalization({ name: 'bn1', movingVarianceInitializer: tfl.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: 4 }), movingMeanInitializer: tfl.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: 5 }) }));
  m.add(tfl.layers.activation({ activation: 'relu' }));
  m.add(tfl.layers.globalAveragePooling2d({}));
  m.add(tfl.layers.dense({ units: 4, activation: 'softmax', name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 6 }) }));
  return m;
}

const options = (batchNorm: BatchNormMode | undefined): TransferModelOptions => ({
  source: source(),
  task: TASK,
  data,
  seed: 2,
  batchSize: 16,
  frozen: { epochs: 2, optimizer: { name: 'sgd', learningRate: 0.1 } },
  unfrozen: { epochs: 2, optimizer: { name: 'sgd', learningRate: 0.05 }, ...(batchNorm !== undefined && { batchNorm }) },
});

interface PhaseJson {
  name: string;
  batchNorm?: { mode: string; ran: string };
}
const phasesOf = (dir: string): PhaseJson[] => (JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8')) as { phases: PhaseJson[] }).phases;

describe('transferModel with the unfrozen phase’s batchNorm', () => {
  it('"frozen" keeps the reused BatchNorm statistics through the unfrozen phase and run.json records the mode', async () => {
    const start = weightValues(source());
    const out = path.join(tmp(), 'run');
    const frozen = await transferModel({ ...options('frozen'), out });
    const trained = await transferModel(options('train'));
    const wf = weightValues(frozen.model);
    const wt = weightValues(trained.model);
    for (const name of ['bn1/moving_mean', 'bn1/moving_variance']) {
      expect(sameValues(wf.get(name)!, start.get(name)!), `frozen: ${name} kept`).toBe(true);
      expect(sameValues(wt.get(name)!, start.get(name)!), `train: ${name} moved`).toBe(false);
    }
    expect(sameValues(wf.get('bn1/gamma')!, start.get('bn1/gamma')!), 'frozen: gamma trained').toBe(false);
    expect(phasesOf(out).map((p) => [p.name, p.batchNorm])).toEqual([
      ['frozen', undefined],
      ['unfrozen', { mode: 'frozen', ran: 'frozen' }],
    ]);
    expect(trained.phases[1]!.batchNorm).toEqual({ mode: 'train', ran: 'train' });
    const auto = await transferModel(options('auto'));
    // Fine-tuning reused layers, auto runs as measured (README "Recipes and BatchNorm").
    expect(auto.phases[1]!.batchNorm).toEqual({ mode: 'auto', ran: 'frozen' });
    [frozen, trained, auto].forEach((r) => r.model.dispose());
  });

  it('a resume with another mode is refused; with the same one it ends where an uninterrupted run does', async () => {
    const full = await transferModel(options('frozen'));
    const stopped = path.join(tmp(), 'run');
    const c = new AbortController();
    await rejectsWith(transferModel({ ...options('frozen'), out: stopped, signal: c.signal, callbacks: { onEpochEnd: (r) => void (r.epoch === 1 && c.abort('SIGINT')) } }), 'INTERRUPTED');
    const checkpoint = await readRunCheckpoint(stopped);
    const other = await rejectsWith(transferModel({ ...options('train'), out: stopped, resumeFrom: checkpoint }), 'CHECKPOINT_MISMATCH');
    expect(other.message).toMatch(/batchNorm/);
    expect(other.message).toMatch(/frozen/);
    const resumed = await transferModel({ ...options('frozen'), out: stopped, resumeFrom: checkpoint });
    const wr = weightValues(resumed.model);
    for (const [name, v] of weightValues(full.model)) expect(sameValues(v, wr.get(name)!), name).toBe(true);
    expect(phasesOf(stopped)[1]!.batchNorm).toEqual({ mode: 'frozen', ran: 'frozen' });
    [full, resumed].forEach((r) => r.model.dispose());
  });

  it('a bad mode is refused before training, naming it', async () => {
    const e = await rejectsWith(transferModel(options('inference' as BatchNormMode)), 'BAD_ARGUMENT');
    expect(e.message).toMatch(/unfrozen phase's batchNorm must be one of train, frozen, auto; received "inference"/);
  });
});

describe('graft transfer --bn', () => {
  it('is in --help with what auto means, and a bad value is refused with the choices', async () => {
    const help = await cliCapture(['transfer', '--help']);
    expect(help.stdout).toMatch(/--bn MODE\s+BatchNorm where reused layers train: frozen .*auto \(frozen: measured better/);
    const bad = await cliInProcess(['transfer', '--from', 'nowhere.json', '--task', TASK, '--out', path.join(tmp(), 'x'), '--bn', 'inference']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--bn received "inference"; choose train, frozen, auto/);
  });
});
