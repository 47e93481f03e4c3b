import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { fit } from '../../src/train/fit.js';
import { buildMlp } from '../../src/models/mlp.js';
import { syntheticDataset, useBackend } from '../helpers.js';

/**
 * onnxruntime loads but refuses to compile graft's step graph (as onnxruntime-web's smaller wasm
 * build or memory might): 'auto' trains on TF.js and records why; 'onnxruntime' fails saying so.
 */
const ort = await loadOnnxRuntime();
if (typeof ort === 'string') console.log(`compile-fallback test skipped: ${ort}`);

beforeAll(useBackend);
afterEach(() => vi.restoreAllMocks());

describe('onnxruntime refusing the step graph', () => {
  const data = syntheticDataset(64, 3, 5);
  const mlp = () => buildMlp({ classes: 3, inputShape: [8, 8], hidden: 8, seed: 1 });
  const refuse = (): void => {
    if (typeof ort === 'string') return;
    vi.spyOn(ort.InferenceSession, 'create').mockRejectedValue(new Error('Could not find an implementation for SomeOp(99) node'));
  };

  it.skipIf(typeof ort === 'string')('auto trains on TF.js, as far as TF.js trains alone, and records why', async () => {
    refuse();
    const r = await fit(mlp(), data, { epochs: 2, engine: 'auto', seed: 3 });
    expect(r.stopReason).toBe('completed');
    expect(r.engine?.engine).toBe('tfjs');
    expect(r.engine?.reason).toMatch(/onnxruntime refused graft's training graph .*SomeOp/);
    // The same fit asked of TF.js directly: the fallback lost nothing on the way.
    vi.restoreAllMocks();
    const direct = await fit(mlp(), data, { epochs: 2, engine: 'tfjs', seed: 3 });
    expect(r.history.map((h) => h.loss)).toEqual(direct.history.map((h) => h.loss));
  });

  it.skipIf(typeof ort === 'string')('--engine onnxruntime fails, naming the refusal', async () => {
    refuse();
    await expect(fit(mlp(), data, { epochs: 1, engine: 'onnxruntime' })).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: expect.stringMatching(/onnxruntime refused graft's training graph/) });
  });

  it.skipIf(typeof ort === 'string')('auto still trains on onnxruntime when it compiles', async () => {
    const r = await fit(mlp(), data, { epochs: 1, engine: 'auto' });
    expect(r.engine?.engine).toBe('onnxruntime');
  });
});
