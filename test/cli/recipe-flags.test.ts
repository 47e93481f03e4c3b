import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RecipeRecord } from '../../src/transfer/recipes.js';
import { useBackend } from '../helpers.js';
import { cliCapture, cliInProcess, saveSourceRun } from './in-process.js';

/**
 * `graft transfer --recipe`: the recipe's values reach training, explicit flags win, and run.json
 * says which value came from where. An MLP source keeps the write-up's recipe under `auto`.
 */
const DATA = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(DATA, 'train-images-idx3-ubyte.gz')) || existsSync(path.join(DATA, 'train-images-idx3-ubyte'));
if (!haveData) console.log(`skipping the --recipe CLI tests: no Fashion-MNIST in ${DATA}`);

beforeAll(useBackend);

const dir = mkdtempSync(path.join(tmpdir(), 'graft-recipe-flags-'));
const source = path.join(dir, 'source');
beforeAll(() => saveSourceRun(source));

interface RunJson {
  recipe?: RecipeRecord;
  transfer: { head: string[] };
  phases: Array<{ name: string; epochs: number; optimizer: { name: string; learningRate: number }; batchNorm?: { mode: string; ran: string } }>;
}

async function transfer(name: string, flags: string[]): Promise<{ run: RunJson; stdout: string }> {
  const out = path.join(dir, name);
  const r = await cliCapture(['transfer', '--from', source, '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--per-class', '20', '--data-dir', DATA, '--offline', '--backend', 'wasm', '--out', out, ...flags]);
  expect(r.code, r.stderr).toBe(0);
  return { run: JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as RunJson, stdout: r.stdout };
}

describe.skipIf(!haveData)('graft transfer --recipe', () => {
  it("auto on an MLP source is the write-up's recipe; flags given are recorded as options, the rest as the recipe's", async () => {
    const { run, stdout } = await transfer('auto', ['--frozen-epochs', '1', '--epochs', '1']);
    expect(run.recipe).toMatchObject({ name: 'writeup', asked: 'auto' });
    expect(run.recipe!.from).toMatchObject({ frozenEpochs: 'option', epochs: 'option', frozenOptimizer: 'recipe', frozenLearningRate: 'recipe', learningRate: 'recipe' });
    expect(run.phases.map((p) => [p.name, p.epochs, p.optimizer.name, p.optimizer.learningRate])).toEqual([
      ['frozen', 1, 'sgd', 0.001],
      ['unfrozen', 1, 'sgd', 0.0001],
    ]);
    expect(stdout).toMatch(/Recipe writeup \(auto\); changed by options: frozenEpochs 1, epochs 1/);
  });

  it('keras-guide sets the head, optimizers, rates and BatchNorm mode; an explicit --lr still wins', async () => {
    const { run } = await transfer('keras', ['--recipe', 'keras-guide', '--frozen-epochs', '1', '--epochs', '1', '--lr', '0.0002']);
    expect(run.recipe).toMatchObject({ name: 'keras-guide', asked: 'keras-guide' });
    expect(run.recipe!.from.learningRate).toBe('option');
    expect(run.recipe!.from.headDropout).toBe('recipe');
    expect(run.transfer.head.some((l) => l.startsWith('head_dropout'))).toBe(true);
    expect(run.phases.map((p) => [p.optimizer.name, p.optimizer.learningRate])).toEqual([
      ['adam', 0.001],
      ['adam', 0.0002],
    ]);
    expect(run.phases[1]!.batchNorm).toEqual({ mode: 'frozen', ran: 'frozen' });
  });

  it('an unknown recipe is refused before anything loads, naming it and the choices', async () => {
    const r = await cliInProcess(['transfer', '--from', 'nowhere.json', '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--out', path.join(dir, 'x'), '--recipe', 'keras']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--recipe must be one of auto, writeup, keras-guide, fastai; received "keras"/);
  });
});
