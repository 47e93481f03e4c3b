import { isGraftError } from '../errors.js';
import { GRAFT_VERSION } from '../version.js';
import { commandHelp, parseCommandArgs, type CommandDef } from './command.js';
import { evaluateCommand } from './commands/evaluate.js';
import { inspectCommand } from './commands/inspect.js';
import { exportCommand } from './commands/export.js';
import { compareCommand } from './commands/compare.js';
import { layersCommand } from './commands/layers.js';
import { lrFindCommand } from './commands/lr-find.js';
import { mergeCommand } from './commands/merge.js';
import { reportCommand } from './commands/report.js';
import { runCommand } from './commands/run.js';
import { sweepCommand } from './commands/sweep.js';
import { predictCommand } from './commands/predict.js';
import { seedCommand } from './commands/seed.js';
import { trainCommand } from './commands/train.js';
import { transferCommand } from './commands/transfer.js';
import { workerCommand } from './commands/worker.js';
import { appCommand } from './commands/app.js';
import { safeLines } from './terminal-text.js';
import { suggest } from '../suggest.js';

const COMMANDS: ReadonlyArray<CommandDef<any>> = [seedCommand, trainCommand, transferCommand, lrFindCommand, compareCommand, sweepCommand, layersCommand, mergeCommand, workerCommand, reportCommand, runCommand, evaluateCommand, predictCommand, inspectCommand, exportCommand, appCommand];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    `graft ${GRAFT_VERSION} — transfer learning for TypeScript`,
    '',
    'Usage: graft <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Run `graft <command> --help` for its options. Start with `graft seed`.',
    '',
  ].join('\n');
}

/** Runs the CLI and returns the exit code: 0 ok, 2 user error, 1 bug. Never calls process.exit. */
export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${GRAFT_VERSION}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    const guess = suggest(name, COMMANDS.map((c) => c.name));
    const hint = guess ? ` Did you mean \`graft ${guess}\`?` : '';
    process.stderr.write(safeLines(`graft: unknown command ${JSON.stringify(name)}.${hint}\n\n${mainHelp()}`));
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  try {
    return await command.run(parseCommandArgs(command, rest));
  } catch (e) {
    if (isGraftError(e) && e.userError) {
      // A leading newline ends a live progress line on a terminal. Messages quote file names and
      // values from files: their controls are escaped, the message's own line breaks kept.
      process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}graft ${name}: ${safeLines(e.message)}\n`);
      return 2;
    }
    process.stderr.write(`\ngraft ${name}: internal error (a bug; please report it with this trace)\n${safeLines((e as Error)?.stack ?? String(e))}\n`);
    return 1;
  }
}
