#!/usr/bin/env -S node --initial-old-space-size=128
// The only place graft exits the process: library code returns codes and throws typed errors.
// The flag: with V8's default small old-generation limit a training loop (small JavaScript heap,
// busy native steps) set off a mark-compact every ~40 ms, up to 1/3 of Model A's time
// (bench/RESULTS.md, "Model A against PyTorch"); a larger starting limit ends that. `node bin/graft.js`
// skips the shebang: pass the flag yourself (bench/lib.mjs's graftCommand does).
import { runCli } from '../dist/cli/main.js';

// `graft inspect x | head` closes the pipe early; that is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
process.exitCode = await runCli(process.argv.slice(2));
