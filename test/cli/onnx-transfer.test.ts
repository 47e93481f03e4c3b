import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { cliCapture } from './in-process.js';
import { sha256, startFakeHub } from '../io/hub/fake-hub.js';

/**
 * The end-to-end case: a CNN trained in PyTorch on the write-up's Model A split of
 * Fashion-MNIST (fixtures/onnx/fashion-mnist-a.onnx, 0.924 on its 8 classes) → graft transfer to
 * T-shirt/top vs sandal reaches ≥ 0.99, the run exports to ONNX (onnxruntime agrees with graft),
 * and the same model fetched as hf:ORG/NAME from a local stand-in for the hub trains alike.
 */
const DATA = process.env.GRAFT_DATA_DIR ?? '/usr/share/datasets/fashion-mnist';
const haveData = existsSync(path.join(DATA, 'train-images-idx3-ubyte.gz')) || existsSync(path.join(DATA, 'train-images-idx3-ubyte'));
if (!haveData) console.log(`skipping ONNX transfer end-to-end tests: no Fashion-MNIST in ${DATA} (apt-get install dataset-fashion-mnist, or set GRAFT_DATA_DIR)`);
const ortOrReason = await loadOnnxRuntime();
const ort = typeof ortOrReason === 'string' ? undefined : (ortOrReason as typeof Ort);
if (!ort) console.log(`skipping ONNX transfer end-to-end tests: ${ortOrReason as string}`);

const SOURCE = path.resolve(__dirname, '../../fixtures/onnx/fashion-mnist-a.onnx');
const dir = mkdtempSync(path.join(os.tmpdir(), 'graft-onnx-transfer-'));
const TASK = 'fashion-mnist:binary=tshirt-top,sandal';
const COMMON = ['--task', TASK, '--data-dir', DATA, '--offline', '--backend', 'wasm', '--json'];

describe.skipIf(!haveData || !ort)('graft transfer from an ONNX model', () => {
  let run = '';
  it('a PyTorch Model A (ONNX) → T-shirt/top vs sandal reaches ≥ 0.99 on the full test set', async () => {
    run = path.join(dir, 'from-onnx');
    const r = await cliCapture(['transfer', '--from', SOURCE, '--preprocess', 'scale', ...COMMON, '--epochs', '2', '--out', run]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { testAccuracy: number; frozenTestAccuracy: number; phases: Array<{ engine: { engine: string } }> };
    expect(out.testAccuracy).toBeGreaterThanOrEqual(0.99);
    expect(out.phases.map((p) => p.engine.engine)).toEqual(['onnxruntime', 'onnxruntime']);
    const info = JSON.parse(readFileSync(path.join(run, 'run.json'), 'utf8')) as { source: { onnx: { cut: string; preprocess: string; blocks: string[]; layout: string } }; transfer: { frozen: string[] } };
    expect(info.source.onnx).toMatchObject({ cut: '/Relu_output_0', preprocess: 'scale', layout: 'nchw', blocks: ['onnx_features', 'onnx_fc1'] });
    expect(info.transfer.frozen).toEqual(['onnx_features', 'onnx_fc1']);
  }, 600_000);

  it('the run exports to ONNX, and onnxruntime gives the probabilities graft gives', async () => {
    const onnx = path.join(dir, 'b.onnx');
    expect((await cliCapture(['export', run, '--to', onnx])).code).toBe(0);
    // 16 images, as graft holds images: [n, 28, 28, 1] in 0..1.
    const pixels = new Float32Array(16 * 784).map((_, i) => ((i * 7919) % 256) / 255);
    const session = await ort!.InferenceSession.create(onnx);
    const got = (await session.run({ image: new ort!.Tensor('float32', pixels, [16, 28, 28, 1]) })).probabilities!.data as Float32Array;
    await session.release();
    // graft's own predictions for the same arrays, through the library.
    const { loadModel } = await import('../../src/io/run-dir.js');
    const tf = await import('@tensorflow/tfjs-core');
    const loaded = await loadModel(run);
    const want = tf.tidy(() => (loaded.model.predict(tf.tensor(pixels, [16, 28, 28, 1])) as import('@tensorflow/tfjs-core').Tensor).dataSync());
    loaded.model.dispose();
    // The model's one sigmoid unit is p(sandal); the export gives [1 − p, p].
    for (let i = 0; i < 16; i++) expect(Math.abs(got[i * 2 + 1]! - want[i]!)).toBeLessThan(1e-5);
  }, 120_000);

  it('hf:ORG/NAME downloads the model from the hub layout (a local stand-in) and records its commit', async () => {
    const bytes = new Uint8Array(readFileSync(SOURCE));
    const commit = 'a'.repeat(40);
    const hub = await startFakeHub({ 'graft-test/fashion-a': { refs: { main: commit }, commits: { [commit]: { 'model.onnx': bytes } } } });
    const saved = { endpoint: process.env.HF_ENDPOINT, cache: process.env.GRAFT_CACHE };
    process.env.HF_ENDPOINT = hub.endpoint;
    process.env.GRAFT_CACHE = path.join(dir, 'cache');
    try {
      const out = path.join(dir, 'from-hub');
      const r = await cliCapture(['transfer', '--from', 'hf:graft-test/fashion-a', '--preprocess', 'scale', ...COMMON, '--per-class', '200', '--epochs', '0', '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      const info = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as { source: { path: string; onnx: { hub: { commit: string; sha256: string; repo: string }; file: string } } };
      expect(info.source.path).toBe('hf:graft-test/fashion-a');
      expect(info.source.onnx.hub).toMatchObject({ repo: 'graft-test/fashion-a', commit, sha256: sha256(bytes) });
      expect(new Uint8Array(readFileSync(info.source.onnx.file))).toEqual(bytes);
      expect(info.source.onnx.file.startsWith(path.join(dir, 'cache'))).toBe(true);
    } finally {
      if (saved.endpoint === undefined) delete process.env.HF_ENDPOINT;
      else process.env.HF_ENDPOINT = saved.endpoint;
      if (saved.cache === undefined) delete process.env.GRAFT_CACHE;
      else process.env.GRAFT_CACHE = saved.cache;
      await hub.close();
    }
  }, 300_000);

  it('refuses an ONNX source without --preprocess, and --preprocess for a source that has its own', async () => {
    const none = await cliCapture(['transfer', '--from', SOURCE, ...COMMON, '--out', path.join(dir, 'no-pre')]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/ONNX files do not record how pixels were prepared.*--preprocess.*imagenet/s);
    expect(existsSync(path.join(dir, 'no-pre'))).toBe(false);
    const wrong = await cliCapture(['transfer', '--from', run, '--preprocess', 'imagenet', ...COMMON, '--out', path.join(dir, 'wrong')]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/--preprocess is for ONNX sources/);
    const layout = await cliCapture(['transfer', '--from', SOURCE, '--preprocess', 'scale', '--layout', 'nchwx', ...COMMON, '--out', path.join(dir, 'l')]);
    expect(layout.stderr).toMatch(/--layout must be nchw .* or nhwc .*"nchwx"/);
  }, 120_000);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
