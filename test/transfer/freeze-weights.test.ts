import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { Rng } from '../../src/engine/rng.js';
import { loadOnnxSource } from '../../src/io/onnx/source.js';
import { OnnxBlock } from '../../src/models/onnx-block/layer.js';
import { fit } from '../../src/train/fit.js';
import { applyUnfreeze, parseFreezePolicy } from '../../src/transfer/freeze.js';
import { transfer } from '../../src/transfer/transfer.js';
import { thrown, useBackend } from '../helpers.js';

beforeAll(useBackend);

/**
 * Freezing single weights of an ONNX source by their initializer names (weights:/regex/): on both
 * engines the named initializers stay bit-identical through training while the rest of their
 * block trains; unfreezing the block trains them again.
 */
const FILE = path.resolve(__dirname, '../../fixtures/onnx/fashion-mnist-a.onnx');

function images(n: number): Dataset {
  const rng = new Rng(5);
  const x = Float32Array.from({ length: n * 784 }, () => rng.next());
  const y = Int32Array.from({ length: n }, (_, i) => i % 2);
  return { x, y, sampleShape: [28, 28, 1], classNames: ['a', 'b'], pixelRange: 'unit', source: 'noise' };
}

function valuesOf(block: OnnxBlock, name: string): Float32Array {
  const i = block.spec.weights.findIndex((w) => w.name === name);
  return block.variable(i).read().dataSync().slice() as Float32Array;
}

describe('freezing weights by their ONNX names', () => {
  for (const engine of ['onnxruntime', 'tfjs'] as const) {
    it(`holds the named initializers and trains the rest (${engine})`, async () => {
      const source = await loadOnnxSource(FILE, { preprocess: 'scale' });
      const t = await transfer(source.model, { cut: -1, head: { classes: 2 }, freeze: parseFreezePolicy('weights:/^features\\.0\\./') });
      expect(t.frozen).toEqual(['onnx_features (2 of 4 weights)']);
      const block = t.model.layers.find((l): l is OnnxBlock => l instanceof OnnxBlock && l.name === 'onnx_features')!;
      const before = { w0: valuesOf(block, 'features.0.weight'), b0: valuesOf(block, 'features.0.bias'), w3: valuesOf(block, 'features.3.weight') };
      await fit(t.model, images(64), { epochs: 1, batchSize: 16, optimizer: { name: 'sgd', learningRate: 0.1 }, engine });
      expect(valuesOf(block, 'features.0.weight')).toEqual(before.w0);
      expect(valuesOf(block, 'features.0.bias')).toEqual(before.b0);
      expect(valuesOf(block, 'features.3.weight')).not.toEqual(before.w3);
      applyUnfreeze(t.reused, 'all');
      await fit(t.model, images(64), { epochs: 1, batchSize: 16, optimizer: { name: 'sgd', learningRate: 0.1 }, engine });
      expect(valuesOf(block, 'features.0.weight')).not.toEqual(before.w0);
      t.model.dispose();
      source.model.dispose();
      expect(tf.memory().numTensors).toBeLessThan(400);
    });
  }

  it('reuses an imported model whole by default; refuses names that match nothing, suggesting the closest', async () => {
    const source = await loadOnnxSource(FILE, { preprocess: 'scale' });
    // No cut: an imported model is reused whole by default.
    const whole = await transfer(source.model, { head: { classes: 2 } });
    expect(whole.reused.map((l) => l.name)).toEqual(['onnx_features', 'onnx_fc1']);
    whole.model.dispose();
    const err = await transfer(source.model, { cut: -1, head: { classes: 2 }, freeze: parseFreezePolicy('weights:features.0.wieght') }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/features\.0\.wieght.*Did you mean features\.0\.weight/);
    expect(thrown(() => parseFreezePolicy('weights:first:2')).message).toMatch(/weights: takes a \/regex\/ or weight names/);
    source.model.dispose();
  });
});
