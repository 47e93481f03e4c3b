import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fit } from '../../src/train/fit.js';
import { buildMlp } from '../../src/models/mlp.js';
import type { EngineChoice } from '../../src/engine/onnx/runtime.js';
import { syntheticDataset, useBackend } from '../helpers.js';
import { cliInProcess } from './in-process.js';

const root = mkdtempSync(path.join(tmpdir(), 'graft-engine-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('choosing an engine that does not exist', () => {
  it('--engine: exit 2 naming the value and the choices, and no run folder is started', async () => {
    const out = path.join(root, 'run');
    const r = await cliInProcess(['train', '--task', 'fashion-mnist:binary=tshirt-top,sandal', '--engine', 'gpu', '--out', out, '--offline']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--engine received "gpu"; choose one of auto, onnxruntime, tfjs.');
    expect(existsSync(out)).toBe(false);
  });

  it('GRAFT_ENGINE and the fit option: a BAD_ARGUMENT error naming the value', async () => {
    await useBackend();
    const data = syntheticDataset(16, 2, 3);
    const model = buildMlp({ classes: 2, inputShape: [8, 8], hidden: 4 });
    await expect(fit(model, data, { epochs: 1, engine: 'fast' as EngineChoice })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining('engine "fast" is not an engine') });
    const saved = process.env.GRAFT_ENGINE;
    process.env.GRAFT_ENGINE = 'onnx';
    try {
      await expect(fit(model, data, { epochs: 1 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining('GRAFT_ENGINE="onnx" is not an engine') });
    } finally {
      if (saved === undefined) delete process.env.GRAFT_ENGINE;
      else process.env.GRAFT_ENGINE = saved;
    }
  });
});
