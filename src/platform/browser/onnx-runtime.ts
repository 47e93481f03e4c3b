import type * as Ort from 'onnxruntime-node';
import { ENGINE_CHOICES, type EngineChoice } from '../../engine/engine-choice.js';

/**
 * The browser's stand-in for engine/onnx/runtime.ts, swapped in by package.json's `browser` field
 * (bundlers read it; Node never does). onnxruntime-node is a native addon, so in a page there is no
 * onnxruntime yet: every fit takes the TF.js path and says why. onnxruntime-web (the training
 * compiler and feature extraction in the page) is a later slice of issue 18.
 */

export type OrtModule = typeof Ort;
export { ENGINE_CHOICES, type EngineChoice };

/** Why the onnxruntime engine cannot run here; fit records it as the reason TF.js trained. */
export const BROWSER_ONNX_REASON = 'onnxruntime is not available in the browser build of graft yet (onnxruntime-web is planned); TF.js trains here';

let chosen: EngineChoice | undefined;

/** Sets the engine for every later fit that does not name one. */
export function setDefaultEngine(choice: EngineChoice): void {
  chosen = choice;
}

/** A page has no environment variables: the engine set by setDefaultEngine, else auto. */
export function engineFromEnv(): EngineChoice {
  return chosen ?? 'auto';
}

/** Never a module in the browser: the reason, which select.ts turns into a TF.js fit (or an error when onnxruntime was insisted on). */
export function loadOnnxRuntime(): Promise<OrtModule | string> {
  return Promise.resolve(BROWSER_ONNX_REASON);
}
