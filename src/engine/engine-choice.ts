import { GraftError } from '../errors.js';

/** Which engine runs training steps: graft's onnxruntime path where it applies, or TF.js throughout. */
export type EngineChoice = 'auto' | 'onnxruntime' | 'tfjs';
export const ENGINE_CHOICES: readonly EngineChoice[] = ['auto', 'onnxruntime', 'tfjs'];

// Kept apart from onnx/runtime.ts so that public types naming an engine do not pull in
// onnxruntime-node's types, which a user's project may not have (it is an optional dependency).

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
