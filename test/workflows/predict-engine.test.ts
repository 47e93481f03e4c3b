import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import * as forwardSession from '../../src/engine/onnx/forward/forward-session.js';
import { loadOnnxRuntime } from '../../src/engine/onnx/runtime.js';
import { loadModel, type LoadedModel } from '../../src/io/run-dir.js';
import { predictFiles, predictPreprocessing } from '../../src/workflows/predict.js';
import { predict } from '../../src/workflows/predict-arrays.js';
import { encodePng } from '../io/image-fixtures.js';
import { useBackend } from '../helpers.js';
import { colourImage, makePredictRuns } from './predict-fixtures.js';

/**
 * graft predict on onnxruntime: the model's forward pass runs there where it translates, one
 * session for every chunk (the weights do not change), released at the end; the probabilities are
 * TF.js's to float32 rounding; `engine: 'tfjs'` keeps everything on TF.js and says so.
 */
const ort = await loadOnnxRuntime();
const missing = typeof ort === 'string' ? ort : undefined;
if (missing) console.log(`predict-on-onnxruntime tests skipped: ${missing}`);

const root = mkdtempSync(path.join(tmpdir(), 'graft-predict-engine-'));
let rgb: LoadedModel;
const folder = path.join(root, 'images');

beforeAll(async () => {
  await useBackend();
  const runs = await makePredictRuns(root);
  rgb = await loadModel(runs.rgb);
  mkdirSync(folder);
  const rng = new Rng(21);
  for (let i = 0; i < 10; i++) writeFileSync(path.join(folder, `img${i}.png`), encodePng(20, 18, colourImage(20, 18, i % 3, rng)));
}, 120_000);

afterAll(() => {
  rgb?.model.dispose();
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(missing !== undefined)('predict on onnxruntime', () => {
  it('runs every chunk on one session, released after, with TF.js probabilities', async () => {
    const prep = predictPreprocessing(rgb.model, rgb.run);
    const opts = { classNames: rgb.run!.classNames, pixelScale: prep.pixelScale, resize: prep.resize, chunk: 4 };
    const sessions = vi.spyOn(forwardSession, 'onnxForward');
    const released = vi.spyOn(forwardSession.OnnxForward.prototype, 'release');
    const onOrt = await predictFiles(rgb.model, [folder], opts);
    expect(onOrt.engine).toEqual({ engine: 'onnxruntime' });
    expect(sessions).toHaveBeenCalledTimes(1);
    expect(released).toHaveBeenCalledTimes(1);
    sessions.mockRestore();
    released.mockRestore();
    const onTfjs = await predictFiles(rgb.model, [folder], { ...opts, engine: 'tfjs' });
    expect(onTfjs.engine).toEqual({ engine: 'tfjs', reason: 'TF.js was asked for' });
    expect(onOrt.results).toHaveLength(10);
    onOrt.results.forEach((r, i) => {
      const want = onTfjs.results[i]!;
      expect(r.file).toBe(want.file);
      expect(r.predictions![0]!.class).toBe(want.predictions![0]!.class);
      r.probabilities!.forEach((p, k) => expect(Math.abs(p - want.probabilities![k]!)).toBeLessThan(1e-5));
    });
  });

  it('predicts arrays (the library call) on onnxruntime too, releasing the session', async () => {
    const released = vi.spyOn(forwardSession.OnnxForward.prototype, 'release');
    const rng = new Rng(5);
    const images = [0, 1, 2].map((k) => ({ width: 16, height: 16, channels: 3 as const, data: colourImage(16, 16, k, rng) }));
    const out = await predict(rgb, images);
    expect(out.map((o) => o.className)).toEqual(rgb.run!.classNames);
    expect(released).toHaveBeenCalledTimes(1);
    released.mockRestore();
  });
});
