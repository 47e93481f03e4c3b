import * as tf from '@tensorflow/tfjs-core';
import { GraftError } from '../errors.js';
import { registerWasmGradKernels } from './wasm-kernels.js';
import { registerFastConvKernels, unregisterFastConvKernels } from './wasm-conv-kernels.js';

export type BackendName = 'tfjs-node' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';

export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tfjs-node', 'wasm', 'cpu'];

export interface BackendInfo {
  /** What graft asked for. */
  name: BackendName;
  /** TF.js's own name for it ('tensorflow' for tfjs-node). */
  tfName: string;
  /** e.g. "wasm (SIMD, 1 thread, fast kernels)". */
  description: string;
  /**
   * wasm only: whether graft's faster kernels (conv gradients, transposed matrix products, Tile,
   * leading-axis sums) replace TF.js's. On unless the environment sets GRAFT_FAST_KERNELS=0.
   */
  fastKernels?: boolean;
}

let active: BackendInfo | undefined;

/**
 * Picks the fastest backend available: tfjs-node when the user has installed it (it is never a
 * dependency: it downloads libtensorflow at install time), else wasm with SIMD, else plain cpu.
 * Idempotent: a second call with the same choice returns the first result.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (active && (choice === 'auto' || choice === active.name)) return active;
  const order: BackendName[] = choice === 'auto' ? ['tfjs-node', 'wasm', 'cpu'] : [choice];
  const failures: string[] = [];
  for (const name of order) {
    try {
      active = await activate(name);
      return active;
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const hint =
    choice === 'tfjs-node'
      ? 'Install it with `npm install @tensorflow/tfjs-node@4.22.0` (it downloads libtensorflow), or use --backend wasm.'
      : 'Reinstall graft\'s dependencies (`npm install`), or pick another with --backend.';
  throw new GraftError('BACKEND_UNAVAILABLE', `Backend ${choice} could not start (${failures.join('; ')}). ${hint}`);
}

export function activeBackend(): BackendInfo | undefined {
  return active;
}

async function activate(name: BackendName): Promise<BackendInfo> {
  if (name === 'tfjs-node') {
    // A string variable keeps bundlers and tsc from resolving the optional package.
    const pkg = '@tensorflow/tfjs-node';
    await import(pkg);
    if (!(await tf.setBackend('tensorflow'))) throw new Error('tfjs-node loaded but its backend did not register');
    await tf.ready();
    return { name, tfName: 'tensorflow', description: 'tfjs-node (libtensorflow)' };
  }
  if (name === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend failed to initialise');
    await tf.ready();
    registerWasmGradKernels();
    // After registerWasmGradKernels: the fast Conv2DBackpropFilter replaces graft's composed one.
    const fast = process.env.GRAFT_FAST_KERNELS !== '0' && registerFastConvKernels();
    if (!fast) unregisterFastConvKernels();
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
    const description = `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'multi-threaded' : '1 thread'}${fast ? ', fast kernels' : ''})`;
    return { name, tfName: 'wasm', description, fastKernels: fast };
  }
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend failed to initialise');
  await tf.ready();
  return { name, tfName: 'cpu', description: 'cpu (plain JavaScript, slow)' };
}
