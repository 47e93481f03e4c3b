import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOnnxSource } from '../../src/io/onnx/source.js';
import { loadBackbone } from '../../src/workflows/backbone.js';
import { transferModel, type TransferModelOptions } from '../../src/workflows/transfer-model.js';
import { useBackend } from '../helpers.js';

/**
 * The second end-to-end case: the Teachable Machine MobileNetV2 (ImageNet weights) taken
 * to ONNX by a real exporter (fixtures/onnx/tm-mobilenetv2-0.35.onnx, torch.onnx.export of
 * torchvision's mobilenet_v2 given those weights; make_tm_mobilenet.py) must transfer to cats vs
 * dogs as the same run from the TF.js source does: test accuracy after the head's training within
 * one point, on real CIFAR-10 photos at the model's 224×224.
 */
const SHARED = path.resolve(__dirname, '../../../shared');
const TAR = path.join(SHARED, 'data/cifar10-jpeg.tar');
const TM = path.join(SHARED, 'fixtures/teachable-machine/model.json');
const ONNX = path.resolve(__dirname, '../../fixtures/onnx/tm-mobilenetv2-0.35.onnx');
const present = existsSync(TAR) && existsSync(TM);
if (!present) console.log(`tm-onnx.test: skipped: ${existsSync(TAR) ? TM : TAR} does not exist (../shared is not beside this clone)`);

let root = '';
beforeAll(async () => {
  await useBackend();
  if (!present) return;
  root = await mkdtemp(path.join(tmpdir(), 'graft-tm-onnx-'));
  await promisify(execFile)('tar', ['-xf', TAR, '-C', root, 'cifar10/train/cat', 'cifar10/train/dog', 'cifar10/test/cat', 'cifar10/test/dog']);
  // The first 100 photos per class of each split, by name.
  for (const part of ['train', 'test']) {
    for (const cls of ['cat', 'dog']) {
      const from = path.join(root, 'cifar10', part, cls);
      const to = path.join(root, 'photos', part, cls);
      mkdirSync(to, { recursive: true });
      for (const f of readdirSync(from).sort().slice(0, 100)) symlinkSync(path.join(from, f), path.join(to, f));
    }
  }
}, 300_000);
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe.skipIf(!present)('Teachable Machine MobileNetV2: ONNX source vs TF.js source', () => {
  it('reaches the same test accuracy (within one point) after the same frozen-phase training', async () => {
    const common = (source: TransferModelOptions['source']): TransferModelOptions => ({
      source,
      task: `folder:${path.join(root, 'photos')}`,
      cut: -1,
      head: { pooling: 'avg' },
      frozen: { epochs: 10, optimizer: { name: 'adam', learningRate: 0.001 } },
      unfrozen: { epochs: 0 },
      valSplit: 0,
      seed: 1,
      cacheDir: path.join(root, 'cache'),
    });
    const tfjs = await loadBackbone({ backbone: 'mobilenetv2:0.35', input: 224, weights: TM });
    const a = await transferModel(common(tfjs.model));
    const onnx = await loadOnnxSource(ONNX, { preprocess: 'tf' });
    const b = await transferModel(common(onnx.model));
    console.log(`TM MobileNetV2 cats vs dogs (100/class, 200 test photos): TF.js source ${a.test.accuracy}, ONNX source ${b.test.accuracy}`);
    expect(a.test.accuracy).toBeGreaterThan(0.6);
    expect(Math.abs(a.test.accuracy - b.test.accuracy)).toBeLessThanOrEqual(0.01);
    for (const m of [a.model, b.model, tfjs.model, onnx.model]) m.dispose();
  }, 600_000);
});
