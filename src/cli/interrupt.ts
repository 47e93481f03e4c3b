import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { GraftError } from '../errors.js';
import { describePosition, resumeCommand } from '../io/checkpoint-dir.js';
import { readRunCheckpoint, TrainingInterrupted, type Invocation, type RunCheckpoint } from '../workflows/checkpoint.js';
import type { OptionDef } from './command.js';
import { printJson } from './common.js';
import { printErr } from './terminal-text.js';

/** Exit codes as shells report a process ended by the signal: 128 + its number. */
export const SIGNAL_EXIT_CODES: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

export const RESUME_OPTION = {
  resume: { type: 'string', value: 'DIR', description: 'Continue the interrupted run in DIR with the options it was started with (to the same result)' },
} as const satisfies Record<string, OptionDef>;

export const INTERRUPT_HELP =
  'Ctrl-C (or SIGTERM) stops training before the next batch, saves a checkpoint in --out and exits with 130 (143);\n' +
  '`--resume DIR` continues it and ends with the same weights as a run never stopped.';

/** Options that may differ on --resume: where things are and how to report them, not what is computed. */
const FREE_ON_RESUME = new Set(['resume', 'json', 'backend', 'log', 'data-dir', 'offline', 'force']);
/** Options holding paths, which a resume from another directory must still find. */
const PATH_OPTIONS = ['from', 'data-dir', 'log', 'weights'];
/** Not recorded: they say how this one invocation behaves. */
const UNRECORDED = new Set(['resume', 'json', 'force']);

type Values = Record<string, string | boolean | undefined>;

/**
 * With --resume DIR: the interrupted run's checkpoint, and the options it was started with in place
 * of the defaults. An option given again must have the recorded value (except FREE_ON_RESUME ones),
 * since the run continues as it started. Also returns what to record should this run be stopped.
 */
export async function resumeArgs<V extends Values>(command: 'train' | 'transfer', args: { values: V; explicit?: ReadonlySet<string> }): Promise<{ values: V; checkpoint?: RunCheckpoint; invocation: Invocation }> {
  const given = args.values;
  const dir = given.resume;
  const absolute = (v: Values, base: string): Values => {
    const out = { ...v };
    for (const name of PATH_OPTIONS) {
      const p = out[name];
      // Only paths that exist there: --weights also takes the words imagenet and none.
      if (typeof p === 'string' && !path.isAbsolute(p) && existsSync(path.resolve(base, p))) out[name] = path.resolve(base, p);
    }
    return out;
  };
  const record = (v: Values): Invocation => ({
    command,
    cwd: process.cwd(),
    flags: Object.fromEntries(Object.entries(v).filter((e): e is [string, string | boolean] => e[1] !== undefined && !UNRECORDED.has(e[0]))),
  });
  if (typeof dir !== 'string') return { values: given, invocation: record(given) };

  if (!existsSync(path.join(dir, 'checkpoint.json')) && existsSync(path.join(dir, 'run.json'))) {
    throw new GraftError('BAD_ARGUMENT', `${dir} is a finished run (it has run.json and no checkpoint): there is nothing to resume. To train it again, drop --resume and pass --force.`);
  }
  const checkpoint = await readRunCheckpoint(dir);
  if (checkpoint.command !== command) {
    throw new GraftError('CHECKPOINT_MISMATCH', `${dir} is an interrupted \`graft ${checkpoint.command}\` run, not a ${command} run. Resume it with \`${resumeCommand(checkpoint, dir)}\`.`);
  }
  const inv = checkpoint.invocation;
  if (!inv) {
    throw new GraftError('CHECKPOINT_MISMATCH', `${dir} was interrupted in a library call, which records no command-line options. Resume it from code: ${command === 'train' ? 'trainModel' : 'transferModel'}({ ...the same options, resumeFrom: await readRunCheckpoint(${JSON.stringify(dir)}) }).`);
  }
  const recorded = absolute(inv.flags, inv.cwd);
  const explicit = [...(args.explicit ?? [])].filter((name) => !FREE_ON_RESUME.has(name));
  for (const name of explicit) {
    const value = given[name];
    if (name === 'out') {
      if (typeof value === 'string' && path.resolve(value) !== path.resolve(dir)) {
        throw new GraftError('BAD_ARGUMENT', `--resume ${dir} writes the finished run into ${dir} itself; --out ${value} points elsewhere. Drop --out.`);
      }
      continue;
    }
    if (String(value) !== String(recorded[name])) {
      const show = (v: unknown): string => (v === undefined ? '(not given)' : typeof v === 'boolean' ? String(v) : JSON.stringify(v));
      throw new GraftError(
        'CHECKPOINT_MISMATCH',
        `--${name} ${show(value)} differs from the interrupted run's --${name} ${show(recorded[name])} (recorded in ${path.join(dir, 'checkpoint.json')}). ` +
          `A resumed run continues with the options it was started with: drop --${name}, or start a new run (another --out, or --force to replace this one).`,
      );
    }
  }
  const free = Object.fromEntries([...(args.explicit ?? [])].filter((n) => FREE_ON_RESUME.has(n)).map((n) => [n, given[n]]));
  const values = { ...given, ...recorded, ...absolute(free, process.cwd()), resume: dir, out: dir } as V;
  return { values, checkpoint, invocation: record(values) };
}

/**
 * Runs a training workflow with Ctrl-C (SIGINT) and SIGTERM turned into a clean stop: the first
 * signal asks training to stop before its next batch and save a checkpoint; while it saves, more
 * signals are ignored (saying so): the save is atomic, and kill -9 is always safe. Returns what the
 * workflow returned, or, when it was interrupted, the exit code (130 / 143) after saying so.
 */
export async function interruptible<T>(command: string, v: { out?: string | undefined; json: boolean }, body: (signal: AbortSignal) => Promise<T>): Promise<{ done: T } | { exitCode: number }> {
  const controller = new AbortController();
  const lead = (): string => (process.stderr.isTTY ? '\n' : '');
  const onSignal = (sig: NodeJS.Signals): void => {
    if (!controller.signal.aborted) {
      controller.abort(sig);
      printErr(`${lead()}graft ${command}: ${sig} received; stopping before the next batch to save a checkpoint${v.out ? ` in ${v.out}` : ''}.\n`);
    } else {
      printErr(`graft ${command}: ${sig} again; still stopping, please wait. The checkpoint is written atomically: even kill -9 leaves the previous state intact.\n`);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const done = await body(controller.signal);
    if (controller.signal.aborted) printErr(`graft ${command}: ${String(controller.signal.reason)} arrived after training had finished; the complete run was saved.\n`);
    return { done };
  } catch (e) {
    if (!(e instanceof TrainingInterrupted)) throw e;
    return { exitCode: reportInterrupted(command, e, v.json) };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function reportInterrupted(command: string, e: TrainingInterrupted, json: boolean): number {
  const code = SIGNAL_EXIT_CODES[e.reason] ?? SIGNAL_EXIT_CODES.SIGINT!;
  const ck = e.checkpoint;
  const resume = ck && e.savedTo !== undefined ? resumeCommand(ck, e.savedTo) : undefined;
  if (json) {
    const at = ck ? { phase: ck.header.phase, epoch: ck.header.epoch, epochs: ck.header.epochs, batch: ck.header.batch, batches: ck.header.batches } : {};
    printJson({ interrupted: true, signal: e.reason, checkpoint: ck ? (e.savedTo ?? null) : null, ...at, ...(resume && { resume }) });
  } else if (!ck) {
    printErr(`graft ${command}: interrupted (${e.reason}) before training began; nothing was saved.\n`);
  } else {
    printErr(`graft ${command}: interrupted (${e.reason}) in ${describePosition(ck.header)}. Checkpoint saved in ${e.savedTo}.\nResume with: ${resume}\n`);
  }
  return code;
}
