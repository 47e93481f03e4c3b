import type * as Ort from 'onnxruntime-node';
import { turnOffOnnxRuntimeTelemetry } from './telemetry-off.js';
import { onnxRuntimeUnavailable } from './install-advice.js';

export type OrtModule = typeof Ort;

export { ENGINE_CHOICES, engineFromEnv, setDefaultEngine, type EngineChoice } from '../engine-choice.js';

let loading: Promise<OrtModule | string> | undefined;

/**
 * onnxruntime-node, or the reason it cannot be used and the command that installs it. It is an
 * optional dependency: its npm package carries CPU binaries for Linux, macOS and Windows (x64,
 * arm64); elsewhere, or when npm dropped it, graft trains with TF.js alone.
 */
export function loadOnnxRuntime(): Promise<OrtModule | string> {
  turnOffOnnxRuntimeTelemetry();
  loading ??= (async () => {
    try {
      const mod = (await import('onnxruntime-node')) as OrtModule & { default?: OrtModule };
      return mod.InferenceSession ? mod : mod.default!;
    } catch (e) {
      return onnxRuntimeUnavailable(e);
    }
  })();
  return loading;
}
