import * as fs from 'node:fs';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread, Worker } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import type { OrtModule } from '../engine/onnx/runtime.js';
import { GraftError } from '../errors.js';
import { distinctBuffers, inlineStepSessions, type OpenStepSession, type StepSession } from '../train/onnx/step-session.js';

const WORKER_FILE = new URL('./step-thread-worker.js', import.meta.url);

/** GRAFT_STEP_THREAD: 0 turns the step thread off, 1 or unset leaves it on; anything else is refused, naming it. */
export function stepThreadWanted(): boolean {
  const setting = process.env.GRAFT_STEP_THREAD;
  if (setting !== undefined && setting !== '0' && setting !== '1') {
    throw new GraftError('BAD_ARGUMENT', `GRAFT_STEP_THREAD is ${JSON.stringify(setting)}; set it to 0 (steps run in the calling thread) or 1 (the default: light steps run in graft's step thread), or unset it.`);
  }
  return setting !== '0';
}

/**
 * Step sessions in a worker thread of their own (Node), so that the JavaScript that assembles the
 * next steps (dropout masks, batches, targets) runs while onnxruntime computes the current ones:
 * onnxruntime-node's run holds its calling thread. On the write-up's Model A that work was a third
 * of a step (bench/RESULTS.md, issue 17). Buffers move to the worker and back (transferred, not
 * copied). In this thread instead: inside a trial worker (they share the cores already), when
 * GRAFT_STEP_THREAD=0, and when the worker's compiled file is absent (graft's sources run by a
 * TypeScript test runner).
 */
export function stepSessions(ort: OrtModule): OpenStepSession {
  const inline = inlineStepSessions(ort);
  if (!isMainThread || !stepThreadWanted() || !fs.existsSync(fileURLToPath(WORKER_FILE))) return inline;
  // A heavy step (graph-stepper.ts LIGHT_FLOATS) leaves nothing to overlap: it stays here.
  return (bytes, options, light) => (light ? openInWorker(bytes, options) : inline(bytes, options, light));
}

type Arrays = Record<string, Float32Array | BigInt64Array>;
interface Reply {
  id: number;
  arrays?: Arrays;
  error?: string;
}

/** The one step worker and its unanswered requests. */
let thread: { worker: Worker; pending: Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }> } | undefined;
let nextId = 0;

/** Starts the step worker; if it dies, its unanswered requests fail and the next request starts another. */
function startThread(): NonNullable<typeof thread> {
  // None of the process's own Node options: the worker runs graft's compiled file, whatever started the process.
  const worker = new Worker(WORKER_FILE, { execArgv: [] });
  const t = { worker, pending: new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>() };
  worker.on('message', (r: Reply) => {
    const p = t.pending.get(r.id);
    t.pending.delete(r.id);
    // Only a waiting request keeps the process alive.
    if (t.pending.size === 0) worker.unref();
    p?.resolve(r);
  });
  const fail = (e: Error): void => {
    if (thread === t) thread = undefined;
    for (const p of t.pending.values()) p.reject(e);
    t.pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`graft's step thread exited (code ${code})`)));
  return t;
}

function request(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
  const t = (thread ??= startThread());
  const id = nextId++;
  t.worker.ref();
  return new Promise<Reply>((resolve, reject) => {
    t.pending.set(id, { resolve, reject });
    t.worker.postMessage({ ...message, id }, transfer);
  });
}

async function openInWorker(bytes: Uint8Array, options: Ort.InferenceSession.SessionOptions): Promise<StepSession> {
  // A light step takes about as long as the JavaScript that assembles the next ones: that
  // JavaScript gets a core of its own. On Model A, 2 cores: 1 intra-op thread here 3.3 s,
  // onnxruntime's default (2, spinning) 4.2 s, and the same steps in one thread 4.0 s.
  const threads = options.intraOpNumThreads === undefined ? { intraOpNumThreads: Math.max(1, os.availableParallelism() - 1) } : {};
  const opened = await request({ op: 'open', bytes, options: { ...options, ...threads } });
  if (opened.error !== undefined) throw new Error(opened.error);
  const session = opened.id;
  const s: StepSession = {
    async run(feeds, fetches) {
      const r = await request({ op: 'run', session, feeds, fetches }, distinctBuffers([...Object.values(feeds), ...Object.values(fetches)].map((v) => v.data)));
      if (r.error !== undefined) throw new Error(r.error);
      return r.arrays!;
    },
    release: () => void request({ op: 'release', session }).catch(() => undefined),
  };
  return s;
}
