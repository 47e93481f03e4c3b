#!/usr/bin/env node
// The only place graft exits the process: library code returns codes and throws typed errors.
import { runCli } from '../dist/cli/main.js';

// `graft inspect x | head` closes the pipe early; that is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
process.exitCode = await runCli(process.argv.slice(2));
