import { vi } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { runCli } from '../../src/cli/main.js';
import { saveRun } from '../../src/io/run-dir.js';
import { testRunInfo } from '../helpers.js';

/** Runs the CLI in this process (fast, no child), stdout silenced: the exit code and what went to stderr. */
export async function cliInProcess(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const code = await runCli(args);
    return { code, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

/** Runs the CLI in this process and captures both streams whole: the exit code, stdout and stderr. */
export async function cliCapture(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    return { code: await runCli(args), stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

/** A small 8-class Fashion-MNIST-shaped source model (Flatten → Dense 8 relu → Dense 8 softmax), saved as a graft run in `dir`. */
export async function saveSourceRun(dir: string): Promise<void> {
  const m = tfl.sequential({ name: 'src' });
  m.add(tfl.layers.flatten({ inputShape: [28, 28], name: 'flat' }));
  m.add(tfl.layers.dense({ units: 8, activation: 'relu', name: 'd1', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }));
  m.add(tfl.layers.dense({ units: 8, activation: 'softmax', name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
  await saveRun(dir, m, testRunInfo({ task: 'fashion-mnist:exclude=sandal,shirt', classNames: ['0', '1', '2', '3', '4', '5', '6', '7'], sampleShape: [28, 28], preprocessing: { pixelScale: 1 / 255 } }));
  m.dispose();
}
