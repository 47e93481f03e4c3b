#!/usr/bin/env node
// The only place graft exits the process: library code returns codes and throws typed errors.
import { runCli } from '../dist/cli/main.js';

process.exitCode = await runCli(process.argv.slice(2));
