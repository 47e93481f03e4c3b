import { GraftError } from '../../errors.js';
import type * as Ort from 'onnxruntime-node';
import { turnOffOnnxRuntimeTelemetry } from './telemetry-off.js';

export type OrtModule = typeof Ort;

/** Which engine runs training steps: graft's onnxruntime path where it applies, or TF.js throughout. */
export type EngineChoice = 'auto' | 'onnxruntime' | 'tfjs';
export const ENGINE_CHOICES: readonly EngineChoice[] = ['auto', 'onnxruntime', 'tfjs'];

let chosen: EngineChoice | undefined;

/** Sets the engine for every later fit that does not name one (the CLI's --engine). */
export function setDefaultEngine(choice: EngineChoice): void {
  chosen = choice;
}

/** The engine set by setDefaultEngine, else GRAFT_ENGINE (default auto); an unknown value is an error. */
export function engineFromEnv(): EngineChoice {
  if (chosen) return chosen;
  const v = process.env.GRAFT_ENGINE;
  if (v === undefined || v === '') return 'auto';
  if ((ENGINE_CHOICES as readonly string[]).includes(v)) return v as EngineChoice;
  throw new GraftError('BAD_ARGUMENT', `GRAFT_ENGINE=${JSON.stringify(v)} is not an engine; use one of ${ENGINE_CHOICES.join(', ')} (or unset it for auto).`);
}

let loading: Promise<OrtModule | string> | undefined;

/**
 * onnxruntime-node, or the reason it cannot be used. It is an optional dependency: its npm package
 * carries CPU binaries for Linux, macOS and Windows (x64, arm64); elsewhere, or when the install
 * was skipped, graft trains with TF.js alone.
 */
export function loadOnnxRuntime(): Promise<OrtModule | string> {
  turnOffOnnxRuntimeTelemetry();
  loading ??= (async () => {
    try {
      const mod = (await import('onnxruntime-node')) as OrtModule & { default?: OrtModule };
      return mod.InferenceSession ? mod : mod.default!;
    } catch (e) {
      return `onnxruntime-node could not be loaded (${(e as Error).message.split('\n')[0]}); reinstall with \`npm install\` to get it`;
    }
  })();
  return loading;
}
