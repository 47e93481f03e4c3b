import { GraftError } from '../../errors.js';

/** onnxruntime's threading for graft's training sessions, as session options take it. */
export interface SessionThreading {
  /** Intra-op threads; 0 is onnxruntime's default (one per physical core). */
  intraOpNumThreads: number;
  /** Whether idle intra-op threads spin waiting for work (onnxruntime's default: on). */
  spinning: boolean;
}

// One process (or worker thread) alone on the machine: onnxruntime's defaults were fastest there.
let threading: SessionThreading = { intraOpNumThreads: 0, spinning: true };

/**
 * Tells the sessions created from now on in this thread that `workers` trial workers share
 * `cores` cores: each gets ⌊cores / workers⌋ intra-op threads (at least 1) and, when more than
 * one worker runs, threads that sleep instead of spinning. Measured on ResNet-18 with another job
 * holding one of 2 cores: the defaults' spinning threads fought for the core, and 1 thread or
 * spinning off were each ≈1.8× faster (bench/RESULTS.md).
 */
export function shareCores(workers: number, cores: number): void {
  for (const [what, v] of [['workers', workers], ['cores', cores]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new GraftError('BAD_ARGUMENT', `shareCores needs a whole number of ${what} ≥ 1; received ${String(v)}. Pass the worker count and os.availableParallelism().`);
  }
  threading = workers <= 1 ? { intraOpNumThreads: 0, spinning: true } : { intraOpNumThreads: Math.max(1, Math.floor(cores / workers)), spinning: false };
}

/** The threading shareCores set (onnxruntime's defaults unless it was called). */
export function sessionThreading(): SessionThreading {
  return { ...threading };
}

/** The session options that carry `t`: only what differs from onnxruntime's defaults. */
export function threadingOptions(t: SessionThreading): { intraOpNumThreads?: number; extra?: Record<string, unknown> } {
  return {
    ...(t.intraOpNumThreads > 0 ? { intraOpNumThreads: t.intraOpNumThreads } : {}),
    ...(t.spinning ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
  };
}
