import * as tf from '@tensorflow/tfjs-core';
import { GraftError } from '../../errors.js';
import { registerWasmGradKernels } from '../../engine/wasm-kernels.js';
import { registerFastConvKernels, unregisterFastConvKernels } from '../../engine/wasm-conv-kernels.js';
import { configureOnnxWeb, onnxWebDescription } from './onnx-web.js';

/** The TF.js backends a page can train on (tfjs-node is Node's; webgl is not wired up yet). */
export type BrowserBackendName = 'wasm' | 'cpu';
export const BROWSER_BACKENDS: readonly BrowserBackendName[] = ['wasm', 'cpu'];

export interface BrowserBackendOptions {
  /** Which backend. Default 'cpu' (needs nothing served); 'wasm' is faster but needs its .wasm files. */
  backend?: BrowserBackendName;
  /**
   * wasm only: the URL folder (ending in '/') serving tfjs-backend-wasm's .wasm files, i.e.
   * node_modules/@tensorflow/tfjs-backend-wasm/dist/. Required for 'wasm': a bundle cannot carry them.
   */
  wasmPaths?: string;
  /** wasm only: graft's faster training kernels (as Node's GRAFT_FAST_KERNELS). Default true. */
  fastKernels?: boolean;
  /**
   * The URL folder (ending in '/') serving onnxruntime-web's ort-wasm-simd-threaded.mjs and .wasm
   * (node_modules/onnxruntime-web/dist/), which runs graft's training compiler and feature
   * extraction in the page; relative URLs resolve against the page or worker. Default: the folder
   * of the script holding graft's bundle. Not served: fits take TF.js and record why.
   */
  onnxWasmPaths?: string;
  /** onnxruntime-web's threads when the page is cross-origin isolated (else 1). Default: one per logical core, at most 8. */
  onnxThreads?: number;
}

export interface BrowserBackendInfo {
  name: BrowserBackendName;
  /** e.g. "wasm (SIMD, 1 thread, fast kernels)". */
  description: string;
  /** onnxruntime-web's set-up for the training compiler, e.g. "onnxruntime-web wasm, 1 thread, files from https://…/ort/". */
  onnx: string;
}

/**
 * Starts TF.js in a page. The Node entry's initBackend reads the process environment and can load
 * tfjs-node; a page has neither, so the choice and the wasm files' location are explicit options.
 */
export async function initBrowserBackend(options: BrowserBackendOptions = {}): Promise<BrowserBackendInfo> {
  const name = options.backend ?? 'cpu';
  if (!BROWSER_BACKENDS.includes(name)) {
    throw new GraftError('BAD_ARGUMENT', `backend ${JSON.stringify(name)} is not a browser backend; use one of ${BROWSER_BACKENDS.join(', ')}.`);
  }
  configureOnnxWeb({ ...(options.onnxWasmPaths !== undefined ? { wasmPaths: options.onnxWasmPaths } : {}), ...(options.onnxThreads !== undefined ? { threads: options.onnxThreads } : {}) });
  const onnx = onnxWebDescription();
  if (name === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu'))) throw new GraftError('BACKEND_UNAVAILABLE', 'TF.js\'s cpu backend did not start in this page (setBackend returned false). Check the console for the error TF.js printed.');
    await tf.ready();
    return { name, description: 'cpu (plain JavaScript, slow)', onnx };
  }
  if (options.wasmPaths === undefined || !options.wasmPaths.endsWith('/')) {
    throw new GraftError(
      'BAD_ARGUMENT',
      `The wasm backend needs wasmPaths, the URL folder serving tfjs-backend-wasm's .wasm files, ending in '/'; received ${JSON.stringify(options.wasmPaths)}. Serve node_modules/@tensorflow/tfjs-backend-wasm/dist/ and pass its URL, or use backend 'cpu'.`,
    );
  }
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(options.wasmPaths);
  if (!(await tf.setBackend('wasm'))) {
    throw new GraftError('BACKEND_UNAVAILABLE', `TF.js's wasm backend did not start from ${options.wasmPaths} (setBackend returned false). Check that the .wasm files are served there, or use backend 'cpu'.`);
  }
  await tf.ready();
  registerWasmGradKernels();
  // As Node's initBackend: after the gradient kernels, so the fast Conv2DBackpropFilter replaces graft's composed one.
  const fast = options.fastKernels !== false && registerFastConvKernels();
  if (!fast) unregisterFastConvKernels();
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
  return { name, description: `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'multi-threaded' : '1 thread'}${fast ? ', fast kernels' : ''})`, onnx };
}
