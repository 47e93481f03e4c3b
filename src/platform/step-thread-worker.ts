import { parentPort } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import { loadOnnxRuntime } from '../engine/onnx/runtime.js';
import { distinctBuffers, ortTensors, type StepValue } from '../train/onnx/step-session.js';

/** graft's step thread (step-thread.ts): opens step sessions and runs them, moving the buffers back when done. */
const sessions = new Map<number, Ort.InferenceSession>();

interface Request {
  id: number;
  op: 'open' | 'run' | 'release';
  bytes?: Uint8Array;
  options?: Ort.InferenceSession.SessionOptions;
  session?: number;
  feeds?: Record<string, StepValue>;
  fetches?: Record<string, StepValue>;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

parentPort!.on('message', (r: Request) => {
  void handle(r);
});

async function handle(r: Request): Promise<void> {
  const port = parentPort!;
  if (r.op === 'open') {
    try {
      const ort = await loadOnnxRuntime();
      if (typeof ort === 'string') throw new Error(ort);
      sessions.set(r.id, await ort.InferenceSession.create(r.bytes!, r.options ?? {}));
      port.postMessage({ id: r.id });
    } catch (e) {
      port.postMessage({ id: r.id, error: message(e) });
    }
    return;
  }
  if (r.op === 'release') {
    await sessions.get(r.session!)?.release();
    sessions.delete(r.session!);
    port.postMessage({ id: r.id });
    return;
  }
  const values = { ...r.feeds!, ...r.fetches! };
  const arrays = Object.fromEntries(Object.entries(values).map(([name, v]) => [name, v.data]));
  const transfer = distinctBuffers(Object.values(arrays));
  try {
    const ort = (await loadOnnxRuntime()) as typeof Ort;
    const session = sessions.get(r.session!);
    if (!session) throw new Error(`no step session ${r.session}`);
    await session.run(ortTensors(ort, r.feeds!), ortTensors(ort, r.fetches!));
    port.postMessage({ id: r.id, arrays }, transfer);
  } catch (e) {
    // The buffers go back either way: they are the caller's weights.
    port.postMessage({ id: r.id, arrays, error: message(e) }, transfer);
  }
}
