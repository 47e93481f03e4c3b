import { loadOnnxRuntime } from './runtime.js';

/**
 * Whether the onnxruntime engine can run here: true, or why not and the command that installs it.
 * The public face of loadOnnxRuntime, whose module type would make every user's project need
 * onnxruntime-node's type declarations, even where npm left the package out.
 */
export async function onnxRuntimeStatus(): Promise<true | string> {
  const ort = await loadOnnxRuntime();
  return typeof ort === 'string' ? ort : true;
}
