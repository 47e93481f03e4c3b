import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecipeRecord } from '../../src/transfer/recipes.js';
import { useBackend } from '../helpers.js';
import { cliCapture } from './in-process.js';

/**
 * Issue 16's acceptance, with defaults only: the Teachable Machine MobileNetV2 (α 0.35) at 96×96 on
 * CIFAR-10 cats vs dogs, 300 training images per class, scored on all 2,000 test photos, reaches
 * 0.72. About 1 minute on an idle 2-core machine, up to 4 on a loaded one. (That unfreezing no
 * longer lowers accuracy on average is a claim over seeds: bench/recipes.mjs, README.)
 */
const SHARED = path.resolve(__dirname, '../../../shared');
const TAR = path.join(SHARED, 'data/cifar10-jpeg.tar');
const TM = path.join(SHARED, 'fixtures/teachable-machine/model.json');
const why = !existsSync(TM) ? `no Teachable Machine model at ${TM}` : !existsSync(TAR) ? `no CIFAR-10 JPEG tar at ${TAR}` : undefined;
if (why) console.log(`skipping the backbone-defaults acceptance test: ${why}`);

let root = '';
beforeAll(async () => {
  if (why) return;
  await useBackend();
  root = await mkdtemp(path.join(tmpdir(), 'graft-backbone-defaults-'));
  await promisify(execFile)('tar', ['-xf', TAR, '-C', root, 'cifar10/train/cat', 'cifar10/train/dog', 'cifar10/test/cat', 'cifar10/test/dog']);
}, 300_000);
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe.skipIf(why !== undefined)('graft transfer on a pretrained backbone, defaults only', () => {
  it('reaches 0.72 test accuracy on cats vs dogs with the measured recipe and BatchNorm mode', async () => {
    const out = path.join(root, 'run');
    const r = await cliCapture(['transfer', '--backbone', 'mobilenetv2:0.35', '--weights', TM, '--input', '96', '--task', 'cifar10:binary=cat,dog', '--per-class', '300', '--data-dir', root, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { frozenTestAccuracy: number; testAccuracy: number; recipe: string };
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as { recipe: RecipeRecord; metrics: { test: { support?: number[] } }; phases: Array<{ batchNorm?: { mode: string; ran: string } }> };
    console.log(`backbone defaults: test accuracy ${summary.frozenTestAccuracy} after the frozen phase, ${summary.testAccuracy} at the end`);
    expect(run.recipe).toMatchObject({ name: 'keras-guide', asked: 'auto' });
    expect(Object.values(run.recipe.from).every((f) => f === 'recipe')).toBe(true);
    expect(run.phases[1]!.batchNorm).toEqual({ mode: 'frozen', ran: 'frozen' });
    expect(summary.testAccuracy).toBeGreaterThanOrEqual(0.72);
  }, 600_000);
});
