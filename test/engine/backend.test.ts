import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { initBackend } from '../../src/engine/backend.js';

const hasTfjsNode = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();
if (hasTfjsNode) console.log('backend.test: @tensorflow/tfjs-node is installed here, so the "not installed" message cannot be checked');

describe('backend choice', () => {
  it.skipIf(hasTfjsNode)('explains how to get tfjs-node when it is asked for but not installed', async () => {
    await expect(initBackend('tfjs-node')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: expect.stringMatching(/npm install @tensorflow\/tfjs-node.*--backend wasm/) });
  });

  it('falls back to wasm under auto when tfjs-node is absent, and says so', async () => {
    const info = await initBackend('auto');
    expect(info.name).toBe(hasTfjsNode ? 'tfjs-node' : 'wasm');
    expect(info.description).toMatch(hasTfjsNode ? /tfjs-node/ : /wasm \(SIMD/);
  });
});
