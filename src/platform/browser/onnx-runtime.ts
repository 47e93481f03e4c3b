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
 * auto picks onnxruntime-web in a page too. Measured in headless Chromium (this machine: 2 cores,
 * not cross-origin isolated, 1 thread each), same model and data: see AUTO_MEASUREMENTS.
 */
export const AUTO_MEASUREMENTS = 'pending';

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
