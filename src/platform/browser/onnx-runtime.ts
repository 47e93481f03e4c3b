import type * as Ort from 'onnxruntime-node';
import { ENGINE_CHOICES, type EngineChoice } from '../../engine/engine-choice.js';
import { encodeModel, FLOAT, type OnnxGraph } from '../../engine/onnx/model-proto.js';
import { pageOrt, startOnnxWeb } from './onnx-web.js';

/**
 * The browser's stand-in for engine/onnx/runtime.ts, swapped in by package.json's `browser` field
 * (bundlers read it; Node never does). onnxruntime-node is a native addon; a page gets
 * onnxruntime-web's wasm backend instead (onnx-web.ts: files, threads, a session wrapper), so graft's
 * training compiler and feature extraction run in the page as in Node. When it cannot start (its
 * files not served, no WebAssembly), the reason comes back and select.ts trains on TF.js with it.
 *
 * auto picks onnxruntime-web in a page as Node picks onnxruntime-node: wherever the compiler takes
 * the model and the runtime starts. Measured in headless Chromium 2026-12 (2 shared cores, load 2–5,
 * so ranges), same model, data and seed, onnxruntime-web 1.30 vs TF.js wasm (SIMD, graft's kernels):
 * - MobileNetV2 α 0.35 at 96², whole-network Adam fine-tune, batch 16, steady epoch of 4 steps:
 *   1 thread 1.0–1.1 s vs 2.2–2.4 s (≈2.2× faster); isolated, 2 threads 0.67–0.68 s vs 2.1–3.1 s
 *   on the quieter runs (both ranged 0.7–3.4 s under load 5). Graph compile ≈1–3 s once per phase.
 * - frozen-base features of the same MobileNetV2, 200 images, batch 32, session creation included:
 *   1 thread 394 vs 297 images/s warm (≈1.3×), 136–308 vs 85–192 under load; isolated, 2 threads
 *   83–427 (median 178) vs 154–288 (median 220) images/s: TF.js ahead while other jobs held the cores.
 * - graft's small CNN on 12²–16² blobs: 8.0 vs 7.8 ms per step (a tie; per-run overhead dominates).
 * TF.js led only in threaded feature extraction on a loaded machine, a few seconds once per dataset;
 * the fine-tune, most of a fit's time, is ≥2× faster here, so one rule holds for both.
 */

export type OrtModule = typeof Ort;
export { ENGINE_CHOICES, type EngineChoice };

/** The start of the reason fit records when onnxruntime-web cannot run in this page. */
export const BROWSER_ONNX_REASON = 'onnxruntime-web did not start in this page; TF.js trains here';

let chosen: EngineChoice | undefined;

/** Sets the engine for every later fit that does not name one. */
export function setDefaultEngine(choice: EngineChoice): void {
  chosen = choice;
}

/** A page has no environment variables: the engine set by setDefaultEngine, else auto. */
export function engineFromEnv(): EngineChoice {
  return chosen ?? 'auto';
}

let loading: Promise<OrtModule | string> | undefined;

/** onnxruntime-web, started and checked on a one-node graph, or the reason it cannot run here. */
export function loadOnnxRuntime(): Promise<OrtModule | string> {
  loading ??= (async () => {
    let where = '';
    try {
      const ort = await import('onnxruntime-web/wasm');
      where = startOnnxWeb(ort).wasmPaths;
      // Its wasm starts on the first session: a missing file shows here, so the fit can still take TF.js.
      const probe = await ort.InferenceSession.create(encodeModel(identityGraph()));
      await probe.release();
      return pageOrt(ort) as unknown as OrtModule;
    } catch (e) {
      const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
      return `${BROWSER_ONNX_REASON} (${why}). Serve node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.{mjs,wasm} at ${where || 'a URL folder'} and pass it as initBrowserBackend's onnxWasmPaths, or choose engine 'tfjs'`;
    }
  })();
  return loading;
}

/** y = x, one float: the smallest graph that makes onnxruntime-web load its wasm. */
function identityGraph(): OnnxGraph {
  return {
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
    inputs: [{ name: 'x', shape: [1], type: FLOAT }],
    outputs: [{ name: 'y', shape: [1], type: FLOAT }],
    initializers: [],
  };
}
