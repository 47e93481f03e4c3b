import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as OrtWeb from 'onnxruntime-web';
import { encodeModel, FLOAT } from '../../src/engine/onnx/model-proto.js';
import { isGraftError } from '../../src/errors.js';
import { configureOnnxWeb, MAX_PAGE_THREADS, onnxWebDescription, pageOrt, pageThreads, startOnnxWeb } from '../../src/platform/browser/onnx-web.js';

/**
 * onnx-web.ts without a browser: the thread rule, the option checks, and the session wrapper on
 * onnxruntime-web's wasm backend itself (it runs in Node too), so these run on every machine;
 * onnx-web.test.ts covers the page.
 */

afterEach(() => {
  vi.unstubAllGlobals();
});

function errorOf(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isGraftError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a GraftError');
}

describe('pageThreads', () => {
  it('is 1 unless the page is cross-origin isolated, whatever was asked for', () => {
    vi.stubGlobal('navigator', { hardwareConcurrency: 16 });
    vi.stubGlobal('crossOriginIsolated', false);
    expect(pageThreads()).toBe(1);
    expect(pageThreads(4)).toBe(1);
  });

  it('is one per logical core when isolated, at most MAX_PAGE_THREADS, or what was asked for', () => {
    vi.stubGlobal('crossOriginIsolated', true);
    vi.stubGlobal('navigator', { hardwareConcurrency: 3 });
    expect(pageThreads()).toBe(3);
    vi.stubGlobal('navigator', { hardwareConcurrency: MAX_PAGE_THREADS * 4 });
    expect(pageThreads()).toBe(MAX_PAGE_THREADS);
    expect(pageThreads(2)).toBe(2);
  });
});

describe('configureOnnxWeb', () => {
  it('refuses a files folder without a trailing slash and a thread count that is not a whole number ≥ 1, naming the value', () => {
    const folder = errorOf(() => configureOnnxWeb({ wasmPaths: '/ort' }));
    expect(folder.code).toBe('BAD_ARGUMENT');
    expect(folder.message).toContain('"/ort"');
    for (const threads of [0, 1.5]) {
      const t = errorOf(() => configureOnnxWeb({ threads }));
      expect(t.code).toBe('BAD_ARGUMENT');
      expect(t.message).toContain(`received ${threads}`);
    }
  });
});

/** y = x for `n` floats. */
const identity = (n: number): Uint8Array =>
  encodeModel({ nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }], inputs: [{ name: 'x', shape: [n], type: FLOAT }], outputs: [{ name: 'y', shape: [n], type: FLOAT }], initializers: [] });

describe('pageOrt on onnxruntime-web', () => {
  it('writes outputs into the buffers handed in as fetches, as onnxruntime-node does, and drops thread session options', async () => {
    const ort = await import('onnxruntime-web/wasm');
    // Node has no page: the folder must be given (onnxruntime-web's own dist, as a file URL).
    configureOnnxWeb({ wasmPaths: new URL('../../node_modules/onnxruntime-web/dist/', import.meta.url).href });
    const started = startOnnxWeb(ort);
    expect(started.threads).toBe(1);
    expect(onnxWebDescription()).toBe(`onnxruntime-web wasm, 1 thread, files from ${started.wasmPaths}`);
    const create = vi.spyOn(ort.InferenceSession, 'create');
    const page = pageOrt(ort);
    const session = await page.InferenceSession.create(identity(3), { intraOpNumThreads: 4, interOpNumThreads: 2, executionMode: 'sequential', logSeverityLevel: 3 });
    // (onnxruntime-web adds its own defaults to the object it is given.)
    const passed = create.mock.calls[0]?.[1];
    expect(passed).toMatchObject({ executionMode: 'sequential', logSeverityLevel: 3 });
    expect(passed).not.toHaveProperty('intraOpNumThreads');
    expect(passed).not.toHaveProperty('interOpNumThreads');
    const into = new Float32Array(3);
    const fetched = new page.Tensor('float32', into, [3]);
    const out = await session.run({ x: new page.Tensor('float32', Float32Array.of(1, 2, 3), [3]) }, { y: fetched });
    expect(Array.from(into)).toEqual([1, 2, 3]);
    expect(out.y).toBe(fetched);
    // A buffer of the wrong size is graft's bug: said, not silently half-filled.
    const wrong = new page.Tensor('float32', new Float32Array(2), [2]);
    await expect(session.run({ x: new page.Tensor('float32', Float32Array.of(1, 2, 3), [3]) }, { y: wrong })).rejects.toThrow(/has 3 values; the buffer graft gave for it has 2/);
    await session.release();
    // Once started, the thread count and folder are fixed: another setting is refused, the same one is not.
    expect(() => configureOnnxWeb({ wasmPaths: started.wasmPaths })).not.toThrow();
    expect(errorOf(() => configureOnnxWeb({ wasmPaths: 'https://elsewhere.example/ort/' })).message).toContain('already started');
    void (ort satisfies typeof OrtWeb);
  });
});
