import { beforeAll, describe, expect, it, vi } from 'vitest';
import { fit } from '../../src/train/fit.js';
import { buildMlp } from '../../src/models/mlp.js';
import { syntheticDataset, useBackend } from '../helpers.js';

// A machine where onnxruntime-node did not install (an unsupported platform, or an install that
// skipped optional dependencies): importing it fails.
vi.mock('onnxruntime-node', () => {
  throw new Error('Cannot find module onnxruntime-node');
});

beforeAll(useBackend);

describe('without onnxruntime-node', () => {
  const data = syntheticDataset(64, 3, 5);
  const mlp = () => buildMlp({ classes: 3, inputShape: [8, 8], hidden: 8, seed: 1 });

  it('auto trains on TF.js and records why', async () => {
    const r = await fit(mlp(), data, { epochs: 1, engine: 'auto' });
    expect(r.stopReason).toBe('completed');
    expect(r.engine?.engine).toBe('tfjs');
    expect(r.engine?.reason).toMatch(/onnxruntime-node is installed but could not be loaded \(.+\); reinstall it with: .*npm install onnxruntime-node@/);
  });

  it('--engine onnxruntime refuses, naming the cause and the way out', async () => {
    await expect(fit(mlp(), data, { epochs: 1, engine: 'onnxruntime' })).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: expect.stringMatching(/onnxruntime-node is installed but could not be loaded.*npm install onnxruntime-node@.*--engine tfjs/),
    });
  });
});
