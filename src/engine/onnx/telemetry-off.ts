import { isMainThread } from 'node:worker_threads';

/**
 * Turns off onnxruntime's telemetry for this process. onnxruntime-node 1.30 on Linux and macOS
 * otherwise starts a telemetry client with the first session that leaves, per process and never
 * removed, `mat-debug-<pid>.log` and `.ses` in the temp folder, a device id and an event database
 * under `<cache>/Microsoft/DeveloperTools/.onnxruntime`, and `:memory:.ses` in the working folder
 * when that cache folder cannot be written. Its only off switch is ORT_DISABLE_TELEMETRY, read from
 * the process environment when the first session is created; there is no session or `ort.env` option.
 *
 * Only the main thread can change the process environment (a worker's process.env is a private
 * copy that native code does not see), so this is called on the main thread before the first
 * session and before trial workers start. A value the user set themselves is kept.
 */
export function turnOffOnnxRuntimeTelemetry(): void {
  if (!isMainThread) return;
  if (process.env.ORT_DISABLE_TELEMETRY === undefined || process.env.ORT_DISABLE_TELEMETRY === '') process.env.ORT_DISABLE_TELEMETRY = '1';
}
