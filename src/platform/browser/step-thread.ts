import type { OrtModule } from '../../engine/onnx/runtime.js';
import { inlineStepSessions, type OpenStepSession } from '../../train/onnx/step-session.js';

/** A page's step sessions run where GraphStepper runs (the app's training worker already is one). */
export function stepSessions(ort: OrtModule): OpenStepSession {
  return inlineStepSessions(ort);
}
