import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraftError } from '../../src/errors.js';
import { loadExperiment } from '../../src/workflows/config/load.js';
import { useBackend } from '../helpers.js';
import { cliInProcess, saveSourceRun } from './in-process.js';

/** --class-weight on train, transfer and compare, and classWeight: in experiment files. */
const DATA = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(DATA, 'train-images-idx3-ubyte.gz')) || existsSync(path.join(DATA, 'train-images-idx3-ubyte'));
if (!haveData) console.log(`skipping the --class-weight runs: no Fashion-MNIST in ${DATA}`);

beforeAll(useBackend);
const dir = mkdtempSync(path.join(tmpdir(), 'graft-class-weight-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TASK = 'fashion-mnist:binary=tshirt-top,sandal';
const DATA_FLAGS = ['--data-dir', DATA, '--offline', '--backend', 'wasm'];

describe('--class-weight values are checked', () => {
  for (const [value, message] of [
    ['sandal=0', /--class-weight "sandal=0": the weight of "sandal" must be a finite number > 0, not "0"/],
    ['sandal=2,sandal=3', /"sandal" is listed twice/],
    ['sandal=NaN', /not "NaN"/],
    ['heavy', /"heavy" is not class=weight/],
  ] as const) {
    it(`${value} is refused before training`, async () => {
      const r = await cliInProcess(['train', '--task', TASK, '--out', path.join(dir, 'never'), '--class-weight', value, ...DATA_FLAGS]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(path.join(dir, 'never'))).toBe(false);
    });
  }

  it.skipIf(!haveData)('a class the task does not have is named, with the classes it has', async () => {
    const r = await cliInProcess(['train', '--task', TASK, '--per-class', '5', '--epochs', '1', '--out', path.join(dir, 'never2'), '--class-weight', 'shirt=2', ...DATA_FLAGS]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/class weight names class "shirt", which is not a class of this task; the classes are 0 "T-shirt\/top", 1 "Sandal"/);
  });
});

describe.skipIf(!haveData)('--class-weight runs record what they used', () => {
  it('graft train: run.json has the weights per class, and they are printed', async () => {
    const out = path.join(dir, 'train');
    const r = await cliInProcess(['train', '--task', TASK, '--per-class', '40', '--epochs', '1', '--out', out, '--class-weight', 'sandal=3', ...DATA_FLAGS]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/class weights \(sandal=3\): T-shirt\/top 1, Sandal 3/);
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as { phases: Array<{ classWeight?: string; classWeights?: Record<string, number> }> };
    expect(run.phases[0]).toMatchObject({ classWeight: 'sandal=3', classWeights: { 'T-shirt/top': 1, Sandal: 3 } });
  });

  /** A small 8-class source model saved as a run. */
  const source = path.join(dir, 'source');
  beforeAll(async () => {
    await saveSourceRun(source);
  });

  it('graft transfer: both phases; graft compare: both arms of every trial', async () => {

    const out = path.join(dir, 'transfer');
    const t = await cliInProcess(['transfer', '--from', source, '--task', TASK, '--per-class', '30', '--frozen-epochs', '1', '--epochs', '1', '--out', out, '--class-weight', 'balanced', ...DATA_FLAGS]);
    expect(t.code, t.stderr).toBe(0);
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as { phases: Array<{ name: string; classWeight?: string; classWeights?: Record<string, number> }> };
    // 30 per class: balanced gives each class 1.
    expect(run.phases.map((p) => [p.name, p.classWeight, p.classWeights])).toEqual([
      ['frozen', 'balanced', { 'T-shirt/top': 1, Sandal: 1 }],
      ['unfrozen', 'balanced', { 'T-shirt/top': 1, Sandal: 1 }],
    ]);

    const cmp = path.join(dir, 'compare');
    const c = await cliInProcess(['compare', '--from', source, '--task', TASK, '--per-class', '10', '--seeds', '1', '--workers', '1', '--frozen-epochs', '1', '--epochs', '1', '--out', cmp, '--class-weight', '1=2', ...DATA_FLAGS]);
    expect(c.code, c.stderr).toBe(0);
    const result = JSON.parse(readFileSync(path.join(cmp, 'compare.json'), 'utf8')) as { settings: { classWeight?: string }; trials: Array<{ arm: string; classWeights?: Record<string, number> }> };
    expect(result.settings.classWeight).toBe('1=2');
    expect(result.trials.map((tr) => [tr.arm, tr.classWeights])).toEqual([
      ['transfer', { 'T-shirt/top': 1, Sandal: 2 }],
      ['scratch', { 'T-shirt/top': 1, Sandal: 2 }],
    ]);
  }, 120_000);

  it('graft sweep: classWeight: trains every configuration with it and records it', async () => {
    const sweepOf = async (name: string, extra: string): Promise<{ classWeight?: string; classWeights?: Record<string, number>; trials: Array<{ valLoss: number }> }> => {
      const file = path.join(dir, `${name}.yaml`);
      writeFileSync(file, `kind: sweep\nfrom: ${source}\ntask: ${TASK}\nout: ${name}\nperClass: 20\nvalSplit: 0.25\nspace:\n  frozenEpochs: [1]\n  unfrozenEpochs: [0]\n${extra}`);
      const r = await cliInProcess(['sweep', file, '--backend', 'wasm']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(readFileSync(path.join(dir, name, 'sweep.json'), 'utf8'));
    };
    const weighted = await sweepOf('sweep-w', 'classWeight: sandal=5\ndataDir: ' + DATA + '\noffline: true\n');
    const plain = await sweepOf('sweep-p', 'dataDir: ' + DATA + '\noffline: true\n');
    expect(weighted).toMatchObject({ classWeight: 'sandal=5', classWeights: { 'T-shirt/top': 1, Sandal: 5 } });
    expect(plain.classWeight).toBeUndefined();
    expect(weighted.trials[0]!.valLoss).not.toBe(plain.trials[0]!.valLoss);
  }, 120_000);
});

describe('classWeight: in experiment files', () => {
  const write = (name: string, text: string): string => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const head = 'kind: train\ntask: fashion-mnist:binary=tshirt-top,sandal\nout: runs/x\n';

  it('takes balanced or class=weight pairs', async () => {
    expect(await loadExperiment(write('a.yaml', `${head}classWeight: balanced\n`))).toMatchObject({ classWeight: 'balanced' });
    expect(await loadExperiment(write('b.yaml', `${head}classWeight: sandal=2,0=1.5\n`))).toMatchObject({ classWeight: 'sandal=2,0=1.5' });
  });

  it('refuses a bad one with its line and what was received', async () => {
    const e = await loadExperiment(write('c.yaml', `${head}classWeight: sandal=-1\n`)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GraftError);
    expect((e as GraftError).message).toMatch(/c\.yaml:4:\d+: .*classWeight.* is not a class weight; received "sandal=-1"\. Fix: .*finite number > 0, not "-1"/);
  });
});
