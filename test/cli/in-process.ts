import { vi } from 'vitest';
import { runCli } from '../../src/cli/main.js';

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
