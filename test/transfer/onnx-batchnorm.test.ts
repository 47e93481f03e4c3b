import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { Rng } from '../../src/engine/rng.js';
import { loadOnnxSource } from '../../src/io/onnx/source.js';
import { OnnxBlock } from '../../src/models/onnx-block/layer.js';
import { fit } from '../../src/train/fit.js';
import { transfer } from '../../src/transfer/transfer.js';
import { useBackend } from '../helpers.js';

beforeAll(useBackend);

/**
 * BatchNormalization inside an imported ONNX block trains while the block trains (batch
 * statistics, running averages moved by the node's momentum) and stays on its running statistics
 * while the block is frozen — the same on onnxruntime (the training compiler) and on TF.js (the
 * interpreter): both engines end at the same weights and the same running averages, over two
 * epochs whose last batch is a partial one (40 samples in batches of 16).
 */
const FILE = path.resolve(__dirname, '../../fixtures/onnx/convnet.torchscript-op17.keep-bn.onnx');

function images(n: number): Dataset {
  const rng = new Rng(9);
  const x = Float32Array.from({ length: n * 16 * 16 * 3 }, () => rng.next());
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  return { x, y, sampleShape: [16, 16, 3], classNames: ['a', 'b', 'c'], pixelRange: 'unit', source: 'noise' };
}

async function trained(engine: 'onnxruntime' | 'tfjs', freeze: 'none' | 'all'): Promise<{ values: Map<string, Float32Array>; start: Map<string, Float32Array>; engine: string | undefined }> {
  const source = await loadOnnxSource(FILE, { preprocess: 'scale' });
  const t = await transfer(source.model, { cut: -1, head: { classes: 3 }, freeze, seed: 1 });
  const snapshot = (): Map<string, Float32Array> => {
    const m = new Map<string, Float32Array>();
    for (const b of t.model.layers.filter((l): l is OnnxBlock => l instanceof OnnxBlock)) b.spec.weights.forEach((w, i) => m.set(w.name, b.variable(i).read().dataSync().slice() as Float32Array));
    return m;
  };
  const start = snapshot();
  const r = await fit(t.model, images(40), { epochs: 2, batchSize: 16, optimizer: { name: 'sgd', learningRate: 0.05 }, engine, seed: 3 });
  const values = snapshot();
  t.model.dispose();
  source.model.dispose();
  return { values, start, engine: r.engine?.engine };
}

describe('BatchNorm in an ONNX source', () => {
  it('trains with the block, the same on both engines', async () => {
    const ort = await trained('onnxruntime', 'none');
    const tfjs = await trained('tfjs', 'none');
    expect(ort.engine).toBe('onnxruntime');
    expect(tfjs.engine).toBe('tfjs');
    const running = [...ort.values.keys()].filter((k) => /running_(mean|var)/.test(k));
    expect(running.length).toBeGreaterThan(4);
    for (const name of ort.values.keys()) {
      const a = ort.values.get(name)!;
      const b = tfjs.values.get(name)!;
      let scale = 0;
      let worst = 0;
      a.forEach((v, i) => {
        scale = Math.max(scale, Math.abs(v));
        worst = Math.max(worst, Math.abs(v - b[i]!));
      });
      expect(worst / scale, `${name}: engines differ by ${worst} (largest ${scale})`).toBeLessThan(1e-4);
    }
    // The running averages moved (towards the batches' statistics).
    for (const name of running) expect(ort.values.get(name), name).not.toEqual(ort.start.get(name));
  });

  it('stays on its running statistics while the block is frozen', async () => {
    for (const engine of ['onnxruntime', 'tfjs'] as const) {
      const r = await trained(engine, 'all');
      for (const [name, v] of r.values) expect(v, `${engine}: ${name}`).toEqual(r.start.get(name));
    }
    expect(tf.memory().numTensors).toBeLessThan(400);
  });
});
