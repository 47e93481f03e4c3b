import type * as OrtWeb from 'onnxruntime-web';
import { GraftError } from '../../errors.js';

/**
 * onnxruntime-web (wasm backend) as graft's onnxruntime in a page: where its files come from, how
 * many threads it runs, and a session wrapper that gives graft's callers onnxruntime-node's
 * behaviour. The stand-in onnx-runtime.ts loads it; initBrowserBackend configures it.
 */

export interface OnnxWebOptions {
  /**
   * URL folder (ending in '/') serving onnxruntime-web's `ort-wasm-simd-threaded.mjs` and `.wasm`
   * (node_modules/onnxruntime-web/dist/). Relative URLs resolve against the page (or worker)
   * location. Default: the folder of the script that holds graft's bundle.
   */
  wasmPaths?: string;
  /**
   * Threads for onnxruntime-web. Used only when the page is cross-origin isolated (COOP/COEP
   * headers), else 1: wasm threads need SharedArrayBuffer. Default: navigator.hardwareConcurrency,
   * at most MAX_PAGE_THREADS.
   */
  threads?: number;
}

/**
 * Each wasm thread is a Web Worker with its own stack; past 8 the per-batch work of graft's graphs
 * is too small to split further (onnxruntime's own web default stops at 4 of ⌈cores / 2⌉).
 */
export const MAX_PAGE_THREADS = 8;

let settings: OnnxWebOptions = {};
/** The settings onnxruntime-web started with: its wasm threads and paths are fixed from then on. */
let started: { wasmPaths: string; threads: number } | undefined;

/**
 * Sets where onnxruntime-web's files are and how many threads it may use, before its first session.
 * Fields left out keep what an earlier call set (a page that retries initBrowserBackend with another
 * TF.js backend keeps its onnx settings).
 */
export function configureOnnxWeb(options: OnnxWebOptions): void {
  if (options.wasmPaths !== undefined && !options.wasmPaths.endsWith('/')) {
    throw new GraftError('BAD_ARGUMENT', `onnxWasmPaths must be a URL folder ending in '/'; received ${JSON.stringify(options.wasmPaths)}. Serve node_modules/onnxruntime-web/dist/ and pass its URL, e.g. '/ort/'.`);
  }
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
    throw new GraftError('BAD_ARGUMENT', `onnxThreads must be a whole number ≥ 1; received ${String(options.threads)}. Leave it out for one per logical core (at most ${MAX_PAGE_THREADS}).`);
  }
  const merged = { ...settings, ...options };
  if (started) {
    const want = resolvedSettings(merged);
    if (want.wasmPaths !== started.wasmPaths || want.threads !== started.threads) {
      throw new GraftError(
        'BAD_ARGUMENT',
        `onnxruntime-web already started with files from ${started.wasmPaths} and ${started.threads} thread(s); received ${want.wasmPaths} and ${want.threads}. Call initBrowserBackend with its onnx options before the first fit, once per page or worker.`,
      );
    }
  }
  settings = merged;
}

/** The threads onnxruntime-web gets here: `requested` (default one per logical core, capped) when isolated, else 1. */
export function pageThreads(requested?: number): number {
  const g = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  if (g.crossOriginIsolated !== true) return 1;
  return Math.max(1, Math.min(requested ?? g.navigator?.hardwareConcurrency ?? 1, MAX_PAGE_THREADS));
}

/** The files' folder as an absolute URL: relative ones resolve against the page or worker location. */
function absoluteFolder(wasmPaths: string | undefined): string {
  const here = (globalThis as { location?: { href: string } }).location?.href;
  // The default: next to the bundle (import.meta.url is the bundle's URL once esbuild has inlined this file).
  if (wasmPaths === undefined) return new URL('./', import.meta.url).href;
  return here === undefined ? wasmPaths : new URL(wasmPaths, here).href;
}

function resolvedSettings(o: OnnxWebOptions): { wasmPaths: string; threads: number } {
  return { wasmPaths: absoluteFolder(o.wasmPaths), threads: pageThreads(o.threads) };
}

/** Sets onnxruntime-web's environment from the configured settings (once, before its wasm starts). */
export function startOnnxWeb(ort: typeof OrtWeb): { wasmPaths: string; threads: number } {
  started ??= resolvedSettings(settings);
  ort.env.wasm.wasmPaths = started.wasmPaths;
  ort.env.wasm.numThreads = started.threads;
  // Sessions run where graft runs (the app's training worker already keeps the page responsive).
  ort.env.wasm.proxy = false;
  return { ...started };
}

/** What onnxruntime-web runs (or will run) on here, e.g. "onnxruntime-web wasm, 4 threads, files from https://…/ort/". */
export function onnxWebDescription(): string {
  const s = started ?? resolvedSettings(settings);
  return `onnxruntime-web wasm, ${s.threads} thread${s.threads === 1 ? '' : 's'}, files from ${s.wasmPaths}`;
}

type Feeds = Record<string, OrtWeb.Tensor>;
type Fetches = Record<string, OrtWeb.Tensor | null>;

/**
 * onnxruntime-web's session seen as graft's callers use onnxruntime-node's. Two differences:
 * (1) outputs handed in as preallocated CPU tensors are never written back by the wasm backend (it
 * copies them into wasm memory, runs, and returns the untouched JavaScript tensors), so they are
 * fetched by name and copied into the caller's buffers; (2) thread counts are session options in
 * Node but one global (env.wasm.numThreads) here, so intra/inter-op thread options are dropped.
 */
class PageSession {
  constructor(private readonly inner: OrtWeb.InferenceSession) {}

  get inputNames(): readonly string[] {
    return this.inner.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.inner.outputNames;
  }

  async run(feeds: Feeds, fetches?: Fetches | readonly string[]): Promise<OrtWeb.InferenceSession.OnnxValueMapType> {
    if (fetches === undefined) return this.inner.run(feeds);
    if (Array.isArray(fetches)) return this.inner.run(feeds, fetches as string[]);
    const wanted = fetches as Fetches;
    const names = Object.keys(wanted);
    const got = await this.inner.run(feeds, names);
    const out: Record<string, OrtWeb.Tensor> = {};
    for (const name of names) {
      const result = got[name] as OrtWeb.Tensor;
      const into = wanted[name];
      if (into == null) {
        out[name] = result;
        continue;
      }
      const target = into.data as Float32Array;
      const source = result.data as Float32Array;
      if (source.length !== target.length) {
        throw new GraftError('SHAPE_MISMATCH', `onnxruntime-web's output ${name} has ${source.length} values; the buffer graft gave for it has ${target.length}. This is graft's bug: please report it (train with engine 'tfjs' meanwhile).`);
      }
      target.set(source);
      result.dispose();
      out[name] = into;
    }
    return out;
  }

  release(): Promise<void> {
    return this.inner.release();
  }
}

/** Session options without the thread counts onnxruntime-web takes from env.wasm.numThreads instead. */
function pageSessionOptions(options: OrtWeb.InferenceSession.SessionOptions | undefined): OrtWeb.InferenceSession.SessionOptions {
  const { intraOpNumThreads: _intra, interOpNumThreads: _inter, ...rest } = options ?? {};
  return rest;
}

/** onnxruntime-web with InferenceSession.create returning PageSessions; Tensor and env as they are. */
export function pageOrt(ort: typeof OrtWeb): typeof OrtWeb {
  const create = async (model: Uint8Array, options?: OrtWeb.InferenceSession.SessionOptions): Promise<PageSession> =>
    new PageSession(await ort.InferenceSession.create(model, pageSessionOptions(options)));
  return { ...ort, InferenceSession: { create } } as unknown as typeof OrtWeb;
}
