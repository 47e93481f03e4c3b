import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadBackbone } from '../../src/workflows/backbone.js';
import { prepareTask, type PreparedData } from '../../src/workflows/prepare.js';
import { transferModel, type TransferResult } from '../../src/workflows/transfer-model.js';
import { disposeModel } from '../../src/models/dispose.js';
import { useBackend } from '../helpers.js';

/**
 * Cats vs dogs on real CIFAR-10 images (the write-up's second task) with a real ImageNet backbone:
 * the MobileNetV2 (α = 0.35) inside the Teachable Machine export, rebuilt at 64×64.
 */
const SHARED = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared');
const TAR = path.join(SHARED, 'data/cifar10-jpeg.tar');
const TM = path.join(SHARED, 'fixtures/teachable-machine/model.json');
const present = existsSync(TAR) && existsSync(TM);
if (!present) console.log(`cifar-transfer.test: skipped: needs ${TAR} and ${TM}`);

let root = '';
let data: PreparedData;
beforeAll(async () => {
  if (!present) return;
  await useBackend();
  root = await mkdtemp(path.join(tmpdir(), 'graft-cats-dogs-'));
  await promisify(execFile)('tar', ['-xf', TAR, '-C', root, 'cifar10/train/cat', 'cifar10/train/dog', 'cifar10/test/cat', 'cifar10/test/dog']);
  data = await prepareTask('cifar10:binary=cat,dog', { dataDir: root, perClass: 200, valSplit: 0.2, seed: 1, image: { height: 64, width: 64, channels: 3 } });
}, 300_000);
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function run(options: { featureCache?: boolean; unfrozenEpochs: number }): Promise<TransferResult> {
  const backbone = await loadBackbone({ backbone: 'mobilenetv2:0.35', input: 64, weights: TM });
  try {
    return await transferModel({
      source: backbone.model,
      task: 'cifar10:binary=cat,dog',
      data,
      seed: 1,
      cut: -1,
      head: { pooling: 'avg', hidden: 64 },
      frozen: { epochs: 5, optimizer: { name: 'adam', learningRate: 0.001 } },
      unfrozen: { epochs: options.unfrozenEpochs, optimizer: { name: 'adam', learningRate: 0.0001 }, unfreeze: { from: 'block_16_expand' } },
      ...(options.featureCache !== undefined && { featureCache: options.featureCache }),
    });
  } finally {
    disposeModel(backbone.model);
  }
}

describe('cats vs dogs on CIFAR-10 from an ImageNet MobileNetV2', () => {
  it.skipIf(!present)('frozen base: the cached and uncached paths agree and beat the floor', async () => {
    expect(data.train.y.length).toBe(320);
    expect(data.test.y.length).toBe(2000);
    const cached = await run({ unfrozenEpochs: 0 });
    const plain = await run({ unfrozenEpochs: 0, featureCache: false });
    console.log(`cats vs dogs, frozen MobileNetV2: test accuracy ${cached.test.accuracy} cached (${cached.phases[0]!.seconds.toFixed(1)} s), ${plain.test.accuracy} uncached (${plain.phases[0]!.seconds.toFixed(1)} s)`);
    expect(cached.phases[0]!.featureCache?.layer).toBe('head_pool');
    expect(plain.phases[0]!.featureCache).toBeUndefined();
    expect(Math.abs(cached.test.accuracy - plain.test.accuracy)).toBeLessThanOrEqual(1 / 2000);
    cached.phases[0]!.history.forEach((h, i) => expect(h.valLoss!).toBeCloseTo(plain.phases[0]!.history[i]!.valLoss!, 4));
    expect(cached.test.accuracy).toBeGreaterThan(FLOORS.frozen);
    disposeModel(cached.model);
    disposeModel(plain.model);
  }, 300_000);

  it.skipIf(!present)('fine-tuning the last block keeps accuracy above the floor', async () => {
    const r = await run({ unfrozenEpochs: 2 });
    console.log(`cats vs dogs, MobileNetV2 fine-tuned: test accuracy ${r.frozenTest.accuracy} after the frozen phase, ${r.test.accuracy} after fine-tuning (${r.phases[1]!.seconds.toFixed(1)} s)`);
    expect(r.phases[1]!.trainableLayers).toContain('block_16_expand');
    expect(r.phases[1]!.featureCache?.layer).toBe('block_15_add');
    expect(r.test.accuracy).toBeGreaterThan(FLOORS.fineTuned);
    disposeModel(r.model);
  }, 300_000);
});

/** Set from measurement (see the closing note of issue 4), a few points under what was seen. */
const FLOORS = { frozen: 0.65, fineTuned: 0.64 }; // measured 0.691 and 0.6865 (320 training images)
