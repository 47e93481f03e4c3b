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
